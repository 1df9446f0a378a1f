// plugin_identity: see plugin_identity.hpp.
#include "api/plugin_identity.hpp"

#include "host/plugin_instance.hpp"

#include <branchline/identity.h>

namespace branchline::api {

PluginIdentity::PluginIdentity(std::string instance_id, boost::asio::any_io_executor reply_to,
                               std::chrono::milliseconds deadline)
    : instance_id_(std::move(instance_id)), reply_to_(std::move(reply_to)), deadline_(deadline) {}

void PluginIdentity::bind(host::PluginInstance* instance) {
  std::lock_guard lock(mutex_);
  instance_ = instance;
}

void PluginIdentity::unbind() { bind(nullptr); }

std::string PluginIdentity::default_issuer() const { return "urn:branchline:identity:" + instance_id_; }

template <class Operation>
void PluginIdentity::call(Operation operation, std::string body, Done done) {
  std::unique_lock lock(mutex_);
  if (!instance_) {
    lock.unlock();
    return done(BL_UNAVAILABLE, "the identity plugin '" + instance_id_ + "' is not running");
  }
  instance_->call(operation, std::move(body), "{}", deadline_, reply_to_, [done = std::move(done)](host::CallResult r) {
    done(r.status, r.status == BL_OK ? std::move(r.result) : std::move(r.message));
  });
}

void PluginIdentity::validate_token(std::string body, Done done) {
  call(&bl_identity_api::validate_token, std::move(body), std::move(done));
}

void PluginIdentity::validate_logout(std::string body, Done done) {
  call(&bl_identity_api::validate_logout, std::move(body), std::move(done));
}

}  // namespace branchline::api
