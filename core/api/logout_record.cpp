// logout_record: see logout_record.hpp.
#include "api/logout_record.hpp"

#include "audit/ledger.hpp"
#include "audit/retention.hpp"
#include "common/log.hpp"

#include <boost/json.hpp>

namespace json = boost::json;

namespace branchline::api {
namespace {

std::optional<std::string> text(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (!v || !v->is_string() || v->as_string().empty()) return std::nullopt;
  return std::string(v->as_string());
}

}  // namespace

std::size_t restore_logouts(SessionRegistry& registry, audit::LedgerReader& ledger, std::chrono::seconds remember,
                            std::chrono::system_clock::time_point now) {
  const std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const auto steady_now = SessionRegistry::Clock::now();
  audit::LedgerReader::Query q;
  q.action = "auth.logout";
  q.from = audit::ledger_time(now - remember);
  q.limit = 1000;
  std::size_t applied = 0, skipped = 0;
  for (;;) {
    std::uint64_t last = 0;
    std::uint64_t count = ledger.query(q, [&](std::uint64_t seq, std::string_view canonical) {
      last = seq;
      boost::system::error_code ec;
      json::value v = json::parse(canonical, ec);
      const json::object* entry = !ec && v.is_object() ? &v.as_object() : nullptr;
      const json::value* outcome = entry ? entry->if_contains("outcome") : nullptr;
      if (!outcome || *outcome != "success") return;  // refused logouts changed nothing
      const json::value* resource = entry->if_contains("resource");
      if (!resource || !resource->is_object()) return ++skipped, void();
      Logout logout;
      logout.issuer = text(resource->as_object(), "issuer").value_or("");
      logout.session_id = text(resource->as_object(), "id");
      logout.subject = text(resource->as_object(), "subject");
      if (logout.issuer.empty() || (!logout.session_id && !logout.subject)) return ++skipped, void();
      const json::value* at = entry->if_contains("logout_at");
      logout.at = at && at->is_int64() ? at->as_int64() : now_s;
      // Remembered from when it happened: what is left of `remember`, not all of it again.
      std::int64_t age_s = std::clamp<std::int64_t>(now_s - logout.at, 0, remember.count());
      registry.end(logout, steady_now - std::chrono::seconds(age_s));
      ++applied;
    });
    if (count < q.limit) break;
    q.after = last;
  }
  if (skipped > 0) log::warn("api", std::to_string(skipped) + " auth.logout entries name no session; not restored");
  return applied;
}

}  // namespace branchline::api
