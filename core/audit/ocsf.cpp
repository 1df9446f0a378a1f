// ocsf: see ocsf.hpp. Class and activity ids are those of OCSF 1.1.0
// (https://schema.ocsf.io/1.1.0): type_uid = class_uid * 100 + activity_id.
#include "audit/ocsf.hpp"
#include "audit/retention.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <ctime>

namespace branchline::audit {
namespace {

namespace json = boost::json;

struct Class {
  int uid, category;
  const char* name;
};
constexpr Class kAuthentication{3002, 3, "Authentication"};
constexpr Class kApplicationLifecycle{6002, 6, "Application Lifecycle"};
constexpr Class kApiActivity{6003, 6, "API Activity"};
constexpr Class kFileHosting{6006, 6, "File Hosting Activity"};

std::string_view text_of(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

bool starts(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool ends(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}


}  // namespace

json::object to_ocsf(std::string_view canonical, std::uint64_t seq, const std::string& origin) {
  json::object event;
  json::object metadata{{"version", "1.1.0"},
                        {"product", json::object{{"name", "Branchline"}, {"vendor_name", "Branchline"}}},
                        {"uid", origin + ":" + std::to_string(seq)},
                        {"log_name", origin}};
  json::object unmapped{{"ledger_index", seq}};
  boost::system::error_code ec;
  json::value parsed = json::parse(canonical, ec);
  if (ec || !parsed.is_object()) {
    event = {{"class_uid", kApiActivity.uid}, {"category_uid", kApiActivity.category}, {"activity_id", 99},
             {"type_uid", kApiActivity.uid * 100 + 99}, {"severity_id", 3}, {"status_id", 0},
             {"message", "a ledger entry that could not be read (purged or damaged)"}};
    event["metadata"] = std::move(metadata);
    event["unmapped"] = std::move(unmapped);
    return event;
  }
  const json::object& entry = parsed.as_object();
  std::string_view action = text_of(entry, "action"), outcome = text_of(entry, "outcome");

  Class cls = kApiActivity;
  int activity = 99;  // Other
  if (starts(action, "auth.")) {
    cls = kAuthentication;
    activity = ends(action, "sign_out") || ends(action, "logout") ? 2 : 1;  // Logoff / Logon
  } else if (starts(action, "host.") || starts(action, "plugin.")) {
    cls = kApplicationLifecycle;
    // Stop / Start / Update (a certificate or policy reload) / Install (load)
    activity = ends(action, ".stop") ? 4 : ends(action, ".start") ? 3 : ends(action, ".reload") ? 8 : 1;
  } else if (starts(action, "recording.") || starts(action, "document.")) {
    cls = kFileHosting;
    activity = ends(action, ".read") || ends(action, ".download") ? 7    // Download
               : ends(action, ".create") || ends(action, ".upload") ? 8  // Upload
               : ends(action, ".delete")                           ? 4
                                                                    : 99;
  } else {
    activity = ends(action, ".read") || ends(action, ".search") ? 2
               : ends(action, ".create") || starts(action, "core.operation.") ? 1
               : ends(action, ".update")                                      ? 3
               : ends(action, ".delete") || ends(action, ".erase") || ends(action, ".purge") ? 4
                                                                                            : 99;
    if (action == "core.operation.read") activity = 2;
  }
  int status = outcome == "success" ? 1 : outcome.empty() ? 0 : 2;  // Success / Unknown / Failure
  std::string_view time = text_of(entry, "time");
  event = {{"class_uid", cls.uid},
           {"class_name", cls.name},
           {"category_uid", cls.category},
           {"activity_id", activity},
           {"type_uid", cls.uid * 100 + activity},
           {"severity_id", outcome == "denied" ? 3 : 1},  // Medium for a denial, else Informational
           {"status_id", status},
           {"time", ledger_epoch_ms(time)}};
  if (!outcome.empty()) event["status"] = outcome;
  if (auto reason = text_of(entry, "reason"); !reason.empty()) event["status_detail"] = reason;
  metadata["original_time"] = time;
  if (auto c = text_of(entry, "correlation_id"); !c.empty()) metadata["correlation_uid"] = c;

  if (auto* actor = entry.if_contains("actor"); actor && actor->is_object()) {
    const json::object& a = actor->as_object();
    json::object user{{"uid", text_of(a, "principal")}};
    if (auto role = text_of(a, "role"); !role.empty()) user["type"] = role;
    event["actor"] = json::object{{"user", std::move(user)}};
    if (auto ip = text_of(a, "ip"); !ip.empty()) event["src_endpoint"] = json::object{{"ip", ip}};
    if (cls.uid == kAuthentication.uid) event["user"] = event["actor"].as_object()["user"];
  }
  json::object api{{"operation", action}};
  if (auto* source = entry.if_contains("source"); source && source->is_object())
    api["service"] = json::object{{"name", text_of(source->as_object(), "plugin")}};
  event["api"] = std::move(api);
  if (auto* resource = entry.if_contains("resource"); resource && resource->is_object()) {
    const json::object& r = resource->as_object();
    json::object res{{"type", text_of(r, "type")}};
    if (auto* id = r.if_contains("id")) res["uid"] = id->is_string() ? json::value(id->as_string()) : json::value(json::serialize(*id));
    // Identifiers only (customer and consultation ids are pseudonyms, and what a bank's SIEM
    // correlates on); never the personal data.
    json::object data;
    for (const char* key : {"customer", "consultation", "account", "recording"})
      if (auto v = text_of(r, key); !v.empty()) data[key] = v;
    if (!data.empty()) res["data"] = std::move(data);
    event["resources"] = json::array{std::move(res)};
  }
  if (auto* fields = entry.if_contains("fields")) unmapped["fields"] = *fields;
  for (const char* key : {"node", "region", "retention", "policy_decision"})
    if (auto v = text_of(entry, key); !v.empty()) unmapped[key] = v;
  event["metadata"] = std::move(metadata);
  event["unmapped"] = std::move(unmapped);
  return event;
}

}  // namespace branchline::audit
