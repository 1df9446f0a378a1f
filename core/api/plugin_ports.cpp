// plugin_ports: see plugin_ports.hpp.
#include "api/plugin_ports.hpp"

#include "host/plugin_instance.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <branchline/identity.h>

namespace branchline::api {

PluginPort::PluginPort(std::string instance_id, boost::asio::any_io_executor reply_to, std::chrono::milliseconds deadline)
    : instance_id_(std::move(instance_id)), reply_to_(std::move(reply_to)), deadline_(deadline) {}

void PluginPort::bind(host::PluginInstance* instance) {
  std::lock_guard lock(mutex_);
  instance_ = instance;
}

void PluginPort::unbind() { bind(nullptr); }

PluginErrorDocument plugin_error_document(std::string_view document) {
  PluginErrorDocument out;
  if (document.empty() || document.size() > host::kMaxErrorDocument) return out;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(document, ec);
  if (ec || !v.is_object()) return out;
  const boost::json::object& o = v.as_object();
  if (const boost::json::value* retry = o.if_contains("retry_after_s");
      retry && retry->is_int64() && retry->as_int64() >= 1 && retry->as_int64() <= 86400)
    out.retry_after_s = retry->as_int64();
  const boost::json::value* code = o.if_contains("error");
  if (!code || !code->is_string() || code->as_string().empty() || code->as_string().size() > 64) return out;
  for (char c : code->as_string())
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return out;
  out.code = std::string(code->as_string());
  return out;
}

template <class Table>
void PluginPort::call(void (*Table::*operation)(bl_plugin_instance*, const bl_request*), std::string body,
                      std::string context, DoneWithCode done) {
  std::unique_lock lock(mutex_);
  if (!instance_) {
    lock.unlock();
    return done(BL_UNAVAILABLE, "the plugin instance '" + instance_id_ + "' is not running", {});
  }
  instance_->call(operation, std::move(body), std::move(context), deadline_, reply_to_,
                  [done = std::move(done)](host::CallResult r) {
                    if (r.status == BL_OK) return done(r.status, std::move(r.result), {});
                    done(r.status, std::move(r.message), plugin_error_document(r.result));
                  });
}

// Most ports have no use for an error code.
template <class Table>
void PluginPort::call(void (*Table::*operation)(bl_plugin_instance*, const bl_request*), std::string body,
                      std::string context, Done done) {
  call(operation, std::move(body), std::move(context),
       DoneWithCode([done = std::move(done)](bl_status status, std::string text, PluginErrorDocument) {
         done(status, std::move(text));
       }));
}

std::string PluginIdentity::default_issuer() const { return "urn:branchline:identity:" + instance_id(); }

void PluginIdentity::validate_token(std::string body, Done done) {
  call(&bl_identity_api::validate_token, std::move(body), "{}", DoneWithCode(std::move(done)));
}

void PluginIdentity::validate_logout(std::string body, Done done) {
  call(&bl_identity_api::validate_logout, std::move(body), "{}", DoneWithCode(std::move(done)));
}

void PluginCrm::lookup_customer(std::string body, std::string context, Done done) {
  call(&bl_crm_api::lookup_customer, std::move(body), std::move(context), std::move(done));
}

void PluginCoreBanking::list_accounts(std::string body, std::string context, Done done) {
  call(&bl_core_banking_api::list_accounts, std::move(body), std::move(context), std::move(done));
}

void PluginCoreBanking::submit_operation(std::string body, std::string context, Done done) {
  call(&bl_core_banking_api::submit_operation, std::move(body), std::move(context), std::move(done));
}

void PluginCoreBanking::get_operation(std::string body, std::string context, Done done) {
  call(&bl_core_banking_api::get_operation, std::move(body), std::move(context), std::move(done));
}

}  // namespace branchline::api
