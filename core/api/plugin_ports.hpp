// plugin_ports: the API's way to the plugin instances behind its routes: the identity instance
// that checks tokens, the CRM and the core-banking system.
//
// Contract:
//  - The API starts before the plugins: until bind() (and after unbind()) every call answers
//    BL_UNAVAILABLE, which a route turns into 503, never into a verdict (about a token, a customer).
//  - Each call runs through PluginInstance::call with the port's `deadline`; the answer (the
//    result on BL_OK, the plugin's message otherwise) arrives once, on `reply_to`.
//  - `context` is the call context of abi.h: {"correlation_id", "actor"?, "consultation_id"?}; the
//    plugin copies it into its own audit entries.
//  - unbind() before the plugin set shuts down; calls in flight are drained by the instance.
//  - What a plugin answers is untrusted: the routes check it (plugin results are bounded by the host).
#pragma once

#include "api/authenticator.hpp"

#include <branchline/core_banking.h>
#include <branchline/crm.h>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace branchline::host {
class PluginInstance;
}

namespace branchline::api {

// A plugin's error document {"error": "<code>", "retry_after_s"?: n} (abi.h, complete()): the
// code when it is lower-case letters, digits and '_', at most 64 of them ("" for anything else,
// which the plugin's text is not trusted to be); retry_after_s when it is an integer from 1 to
// 86400 (else 0). Nothing of a document over 4 KiB or not JSON.
PluginErrorDocument plugin_error_document(std::string_view document);
// Its code alone.
inline std::string plugin_error_code(std::string_view document) { return plugin_error_document(document).code; }

class PluginPort {
 public:
  using Done = std::function<void(bl_status status, std::string result_or_message)>;

  PluginPort(std::string instance_id, boost::asio::any_io_executor reply_to, std::chrono::milliseconds deadline);
  virtual ~PluginPort() = default;

  void bind(host::PluginInstance* instance);
  void unbind();
  const std::string& instance_id() const { return instance_id_; }

 protected:
  // `operation` is a member of the kind's table (e.g. &bl_crm_api::lookup_customer).
  template <class Table>
  void call(void (*Table::*operation)(bl_plugin_instance*, const bl_request*), std::string body, std::string context,
            Done done);
  // The same, also with what the plugin's error document says (abi.h, complete()).
  using DoneWithCode = std::function<void(bl_status status, std::string result_or_message, PluginErrorDocument error)>;
  template <class Table>
  void call(void (*Table::*operation)(bl_plugin_instance*, const bl_request*), std::string body, std::string context,
            DoneWithCode done);

 private:
  std::string instance_id_;
  boost::asio::any_io_executor reply_to_;
  std::chrono::milliseconds deadline_;
  std::mutex mutex_;
  host::PluginInstance* instance_ = nullptr;
};

// The identity instance (sdk/include/branchline/identity.h) as the authenticator's provider.
class PluginIdentity final : public IdentityProvider, public PluginPort {
 public:
  using PluginPort::PluginPort;
  using Done = IdentityProvider::Done;
  void validate_token(std::string body, Done done) override;
  void validate_logout(std::string body, Done done) override;
  std::string default_issuer() const override;
};

// The CRM instance (crm.h).
class PluginCrm final : public PluginPort {
 public:
  using PluginPort::PluginPort;
  void lookup_customer(std::string body, std::string context, Done done);
};

// The core-banking instance (core_banking.h).
class PluginCoreBanking final : public PluginPort {
 public:
  using PluginPort::PluginPort;
  void list_accounts(std::string body, std::string context, Done done);
  void submit_operation(std::string body, std::string context, Done done);
  void get_operation(std::string body, std::string context, Done done);
};

}  // namespace branchline::api
