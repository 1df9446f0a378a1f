// plugin_identity: the API's identity provider, backed by the configured identity plugin instance
// (kind identity; sdk/include/branchline/identity.h).
//
// Contract:
//  - The API starts before the plugins: until bind() (and after unbind()) every call answers
//    BL_UNAVAILABLE, which the API turns into 503, never into a verdict about the token.
//  - Calls run through PluginInstance::call with `deadline`; answers arrive on `reply_to`.
//  - unbind() before the plugin set shuts down; calls in flight are drained by the instance.
#pragma once

#include "api/authenticator.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <mutex>
#include <string>

namespace branchline::host {
class PluginInstance;
}

namespace branchline::api {

class PluginIdentity final : public IdentityProvider {
 public:
  PluginIdentity(std::string instance_id, boost::asio::any_io_executor reply_to, std::chrono::milliseconds deadline);

  void bind(host::PluginInstance* instance);
  void unbind();

  void validate_token(std::string body, Done done) override;
  void validate_logout(std::string body, Done done) override;
  std::string default_issuer() const override;

 private:
  template <class Operation>
  void call(Operation operation, std::string body, Done done);

  std::string instance_id_;
  boost::asio::any_io_executor reply_to_;
  std::chrono::milliseconds deadline_;
  std::mutex mutex_;
  host::PluginInstance* instance_ = nullptr;
};

}  // namespace branchline::api
