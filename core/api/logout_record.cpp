// logout_record: see logout_record.hpp.
#include "api/logout_record.hpp"

#include "audit/ledger.hpp"
#include "audit/retention.hpp"
#include "common/log.hpp"
#include "common/unix_time.hpp"

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
                            std::chrono::system_clock::time_point now, std::int64_t clock_skew_s) {
  const std::int64_t now_s = unix_seconds(now);
  const auto steady_now = SessionRegistry::Clock::now();
  audit::LedgerReader::Query q;
  q.action = "auth.logout";
  q.from = audit::ledger_time(now - remember);
  q.limit = 1000;
  // Only the window is read, not the whole ledger: its first entry found by bisection, with a
  // margin for entries that brought their own (slightly earlier) time.
  std::uint64_t first = ledger.first_seq_from(audit::ledger_time(now - remember - std::chrono::minutes(10)));
  q.after = first > 0 ? first - 1 : 0;
  std::size_t applied = 0, skipped = 0;
  for (;;) {
    audit::LedgerReader::Page page = ledger.query(q, [&](std::uint64_t, std::string_view canonical) {
      boost::system::error_code ec;
      json::value v = json::parse(canonical, ec);
      const json::object* entry = !ec && v.is_object() ? &v.as_object() : nullptr;
      const json::value* outcome = entry ? entry->if_contains("outcome") : nullptr;
      if (!outcome || *outcome != "success") return;  // refused logouts changed nothing
      // The host's own entries only: a plugin's entries carry the "source" the host stamps on them,
      // and a plugin must not be able to end someone's sessions at the next start.
      const json::value* actor = entry->if_contains("actor");
      bool from_host = !entry->contains("source") && actor && actor->is_object() &&
                       actor->as_object().if_contains("role") && actor->as_object().at("role") == "identity_provider";
      const json::value* resource = entry->if_contains("resource");
      const json::value* time = entry->if_contains("time");
      std::int64_t arrived_s = time && time->is_string() ? audit::ledger_epoch_ms(time->as_string()) / 1000 : 0;
      if (!from_host || !resource || !resource->is_object() || arrived_s <= 0) return ++skipped, void();
      Logout logout;
      logout.issuer = text(resource->as_object(), "issuer").value_or("");
      logout.session_id = text(resource->as_object(), "id");
      logout.subject = text(resource->as_object(), "subject");
      if (logout.issuer.empty() || (!logout.session_id && !logout.subject)) return ++skipped, void();
      // Dated as it was when applied (the provider's time, at most our clock plus the skew); an
      // entry of an older version has no logout_at and was dated at its arrival.
      const json::value* at = entry->if_contains("logout_at");
      logout.at = logout_time(at && at->is_int64() ? std::optional(at->as_int64()) : std::nullopt, arrived_s, clock_skew_s);
      // Remembered from its arrival, as when it was applied: what is left of `remember`.
      std::int64_t age_s = std::clamp<std::int64_t>(now_s - arrived_s, 0, remember.count());
      registry.end(logout, steady_now - std::chrono::seconds(age_s));
      ++applied;
    });
    if (!page.more) break;
    q.after = page.last_seq;
  }
  if (skipped > 0)
    log::warn("api", std::to_string(skipped) + " auth.logout entries not restored (not the host's, or naming no session)");
  return applied;
}

}  // namespace branchline::api
