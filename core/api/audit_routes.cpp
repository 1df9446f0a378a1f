// audit_routes: the audit ledger for auditors (queries) and examiners (exports with proofs), and
// the host's status for operators. See api_routes.hpp.
//
// Reading the ledger is itself audited: each query or export page is decided (audit.ledger.query,
// audit.ledger.export on AuditLedger::"ledger") and its policy.decide entry, with the criteria,
// is durable before the ledger is even read, so that a query matching its own decision finds it.
// The ledger is read on the archive's thread (audit_archive.hpp), never on the server's.
//
// Answers are bounded: a query page holds at most 1,000 entries and 8 MiB of them, an export page
// at most 10,000 and 16 MiB; the rest is reached through `after` (the last sequence number seen),
// offered as a `next` link. Every page of one query ends at the same sequence number (`until`,
// fixed by the first page) and every page of one export is against the same checkpoint
// (`tree_size`), so that paging ends and the pages of an export fit together. An export page is
// JSON Lines as `branchline audit export` prints them (its first line also says the page's `after`
// and `limit`), each page checkable on its own against its checkpoint (tools/verify-export).
#include "api/access_gate.hpp"
#include "api/api_routes.hpp"
#include "api/audit_archive.hpp"
#include "api/identifiers.hpp"
#include "audit/ledger.hpp"
#include "common/log.hpp"

#include <boost/json.hpp>

#include <charconv>

namespace json = boost::json;

namespace branchline::api {
namespace {

constexpr std::uint64_t kQueryLimit = 100, kMaxQueryLimit = 1000, kQueryBytes = 8u << 20;
constexpr std::uint64_t kExportLimit = 1000, kMaxExportLimit = 10000, kExportBytes = 16u << 20;
constexpr std::size_t kMaxCriterion = 256;

// A query string's value for a link: RFC 3986 unreserved characters kept, the rest %XX.
std::string escape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::optional<std::uint64_t> number(std::string_view text) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return n;
}

// The query string's parameters, each known, given at most once, printable and bounded; or the
// 400 that says what is wrong.
struct Parameters {
  std::map<std::string, std::string> values;
  std::optional<HttpResponse> problem;

  std::optional<std::string> get(const std::string& name) const {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
};

Parameters parameters(const HttpRequest& request, std::initializer_list<std::string_view> known) {
  Parameters out;
  auto pairs = parse_form(request.query, 16);
  if (!pairs) {
    out.problem = HttpResponse::problem(400, "the query string is malformed");
    return out;
  }
  for (auto& [name, value] : *pairs) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      out.problem = HttpResponse::problem(400, "unknown query parameter; this route takes " + list);
      return out;
    }
    // Printable ASCII only: every value ends up in an audit entry, which must take it as it is.
    bool printable = value.size() <= kMaxCriterion && std::all_of(value.begin(), value.end(), [](char c) {
                       auto u = static_cast<unsigned char>(c);
                       return u >= 0x20 && u < 0x7f;
                     });
    bool id_ok = (name != "customer" && name != "consultation") || valid_id(value);
    if (!printable || !id_ok || !out.values.emplace(name, std::move(value)).second) {
      out.problem = HttpResponse::problem(400, "the query parameter '" + name +
                                                   "' is repeated, too long, not printable ASCII or not an id");
      return out;
    }
  }
  return out;
}

// from/to as the ledger's times, after/limit (and the page's fixed end: until or tree_size) as
// numbers; nullopt (and the 400 in `problem`) when wrong.
struct Window {
  std::string from, to;
  std::uint64_t after = 0, limit = 0;
  std::optional<std::uint64_t> end;
};
std::optional<Window> window(Parameters& p, std::uint64_t default_limit, std::uint64_t max_limit, const std::string& end_name) {
  Window w;
  auto from = audit::normalize_query_time(p.get("from").value_or("")),
       to = audit::normalize_query_time(p.get("to").value_or(""));
  if (!from || !to) {
    p.problem = HttpResponse::problem(400, "from and to are UTC times: 2026-11-01 or 2026-11-01T10:00:00Z");
    return std::nullopt;
  }
  w.from = *from;
  w.to = *to;
  auto after = number(p.get("after").value_or("0"));
  auto limit = number(p.get("limit").value_or(std::to_string(default_limit)));
  if (!after || !limit || *limit == 0 || *limit > max_limit) {
    p.problem = HttpResponse::problem(400, "after is a sequence number and limit 1 to " + std::to_string(max_limit));
    return std::nullopt;
  }
  w.after = *after;
  w.limit = *limit;
  if (auto end = p.get(end_name)) {
    w.end = number(*end);
    if (!w.end || *w.end == 0) {
      p.problem = HttpResponse::problem(400, end_name + " is a positive number, as the previous page's next link gave it");
      return std::nullopt;
    }
  }
  return w;
}

// The same request's link (path and parameters) for the page after sequence number `last`, with
// the fixed end (`until` or `tree_size`) the first page set.
std::string next_link(const std::string& path, const Parameters& p, std::uint64_t last, const std::string& end_name,
                      std::uint64_t end) {
  std::string link = path + "?";
  for (const auto& [name, value] : p.values)
    if (name != "after" && name != end_name) link += name + "=" + escape(value) + "&";
  return link + end_name + "=" + std::to_string(end) + "&after=" + std::to_string(last);
}

HttpResponse archive_failure(std::string_view reason) {
  log::error("api", "the audit ledger cannot be read: " + std::string(reason));
  return HttpResponse::unavailable("the audit ledger cannot be read now", 5);
}

HttpResponse archive_busy() { return HttpResponse::unavailable("too many audit reads are running; retry shortly", 1); }

// The decision for reading the ledger: durable before the answer, with what was asked. The
// policies see the criteria too (context.customer, consultation, from, to), so that a bank can
// narrow an auditor's reach.
Question ledger_question(std::string action, json::object criteria) {
  Question q;
  q.action = std::move(action);
  q.resource = {"AuditLedger", "ledger"};
  q.entities.add(policy::Entity{q.resource, {}, {}});
  for (const char* key : {"customer", "consultation", "from", "to"})
    if (auto* v = criteria.if_contains(key); v && v->is_string()) q.context[key] = policy::Value(std::string(v->as_string()));
  q.audit_resource = json::object{{"type", "audit_ledger"}, {"id", "ledger"}};
  // A query about one customer or consultation is an access to their records: index it so.
  for (const char* key : {"customer", "consultation"})
    if (auto* v = criteria.if_contains(key)) q.audit_resource[key] = *v;
  q.audit_resource["criteria"] = std::move(criteria);
  // Read only once the entry is durable (not overlapped, as a profile read is): a query then
  // always finds its own decision when it matches, and an auditor's read is never faster than
  // its record. Latency matters little here.
  q.durable = true;
  return q;
}

// What a read of the ledger does once decided: runs on the archive's thread with the reader, the
// answer, the request's path and the decision id.
using LedgerRead = std::function<void(audit::LedgerReader&, const Respond& answer, const std::string& path,
                                      const std::string& decision_id)>;

// What a route does for an authenticated caller: checks the query string, then read_ledger.
using AuditRoute = void (*)(const std::shared_ptr<const AccessGate>&, const std::shared_ptr<AuditArchive>&,
                            const Principal&, const HttpRequest&, Respond);

// The steps both audit routes share once the parameters are checked: decide `action` with them as
// the criteria (durable before anything is read), then queue `read` on the archive (503 when it is
// full).
void read_ledger(const std::shared_ptr<const AccessGate>& gate, const std::shared_ptr<AuditArchive>& archive,
                 const Principal& principal, const HttpRequest& request, Respond respond, std::string action,
                 const Parameters& p, LedgerRead read) {
  json::object criteria;
  for (const auto& [name, value] : p.values) criteria[name] = value;
  gate->authorize(request, principal, ledger_question(std::move(action), std::move(criteria)), respond,
                  [archive, path = request.path, read = std::move(read)](Verdict verdict) {
                    Respond answer = verdict.answer;
                    auto job = [answer, path, read, id = verdict.decision_id](audit::LedgerReader& reader) {
                      read(reader, answer, path, id);
                    };
                    if (!archive->run(std::move(job), [answer](const std::string& why) { answer(archive_failure(why)); }))
                      answer(archive_busy());
                  });
}

// GET /api/v1/audit/entries: entries matching every criterion, oldest first.
void query_entries(const std::shared_ptr<const AccessGate>& gate, const std::shared_ptr<AuditArchive>& archive,
                   const Principal& principal, const HttpRequest& request, Respond respond) {
  Parameters p = parameters(request, {"customer", "consultation", "actor", "action", "from", "to", "after", "limit", "until"});
  std::optional<Window> w;
  if (!p.problem) w = window(p, kQueryLimit, kMaxQueryLimit, "until");
  if (p.problem) return respond(std::move(*p.problem));
  audit::LedgerReader::Query q;
  q.customer = p.get("customer");
  q.consultation = p.get("consultation");
  q.advisor = p.get("actor");
  q.action = p.get("action");
  if (!w->from.empty()) q.from = w->from;
  if (!w->to.empty()) q.to = w->to;
  q.after = w->after;
  q.limit = w->limit;
  q.until = w->end;
  q.max_bytes = kQueryBytes;
  read_ledger(gate, archive, principal, request, std::move(respond), "audit.ledger.query", p,
              [q, p](audit::LedgerReader& reader, const Respond& answer, const std::string& path, const std::string& id) mutable {
                // The first page fixes where the query ends: this query's own entry is in it (it is
                // durable), later pages' entries are not.
                if (!q.until) q.until = reader.last_seq();
                json::array entries;
                audit::LedgerReader::Page page = reader.query(q, [&](std::uint64_t, std::string_view canonical) {
                  boost::system::error_code ec;
                  json::value entry = json::parse(canonical, ec);
                  // One entry that does not parse must not hide the rest: given as its text.
                  entries.push_back(ec ? json::value(json::string(canonical)) : std::move(entry));
                });
                json::object body{{"entries", std::move(entries)}, {"count", page.count}, {"decision_id", id}};
                if (page.more) body["next"] = next_link(path, p, page.last_seq, "until", *q.until);
                answer(HttpResponse::json(200, body));
              });
}

// GET /api/v1/audit/export: a page of the examiner's export (JSON Lines).
void export_page(const std::shared_ptr<const AccessGate>& gate, const std::shared_ptr<AuditArchive>& archive,
                 const Principal& principal, const HttpRequest& request, Respond respond) {
  Parameters p = parameters(request, {"from", "to", "after", "limit", "tree_size"});
  std::optional<Window> w;
  if (!p.problem) w = window(p, kExportLimit, kMaxExportLimit, "tree_size");
  if (p.problem) return respond(std::move(*p.problem));
  audit::LedgerReader::ExportRange range{w->from, w->to, w->after, w->limit, kExportBytes, w->end};
  read_ledger(gate, archive, principal, request, std::move(respond), "audit.ledger.export", p,
              [range, p](audit::LedgerReader& reader, const Respond& answer, const std::string& path, const std::string& id) {
                std::string body;
                audit::LedgerReader::Page page;
                try {
                  page = reader.export_entries(
                      range, [&](const std::string& note) { body += json::serialize(audit::export_head(note, range)) + "\n"; },
                      [&](const audit::LedgerReader::ExportedEntry& e) { body += json::serialize(audit::export_line(e)) + "\n"; });
                } catch (const std::invalid_argument&) {  // no such checkpoint (or none yet)
                  if (range.tree_size)
                    return answer(HttpResponse::problem(400, "no checkpoint of that tree_size; start the export again without it"));
                  return answer(HttpResponse::unavailable("the ledger has no signed checkpoint yet", 1));
                }
                HttpResponse r;
                r.status = 200;
                r.set("Content-Type", "application/jsonl");
                r.set("Content-Disposition", "attachment; filename=\"audit-export-" + std::to_string(range.after) + ".jsonl\"");
                r.set("X-Decision-Id", id);
                if (page.more) r.set("Link", "<" + next_link(path, p, page.last_seq, "tree_size", page.tree_size) + ">; rel=\"next\"");
                r.body = std::move(body);
                answer(std::move(r));
              });
}

}  // namespace

void add_audit_routes(Router& router, std::shared_ptr<const AccessGate> gate, std::shared_ptr<AuditArchive> archive) {
  for (auto [path, route] : {std::pair<const char*, AuditRoute>{"/api/v1/audit/entries", &query_entries},
                             std::pair<const char*, AuditRoute>{"/api/v1/audit/export", &export_page}})
    router.add("GET", path, [gate, archive, route](const HttpRequest& request, Respond respond) {
      // The query string (and the host's state) only after authentication: 401 first.
      gate->authenticate(request, respond, [gate, archive, route, &request, respond](std::shared_ptr<const Principal> principal) {
        if (!archive) return respond(archive_failure("no audit archive is configured for the API"));
        route(gate, archive, *principal, request, respond);
      });
    });
}

void add_status_routes(Router& router, std::shared_ptr<const AccessGate> gate, std::function<json::object()> host_status) {
  // GET /api/v1/status: the host and its plugin instances, for operators. Nothing of a customer's.
  router.add("GET", "/api/v1/status", [gate, host_status](const HttpRequest& request, Respond respond) {
    gate->authenticate(request, respond, [gate, host_status, &request, respond](std::shared_ptr<const Principal> principal) {
      Question question;
      question.action = "host.status.read";
      question.resource = {"Host", gate->node()};
      question.entities.add(policy::Entity{question.resource, {}, {}});
      question.audit_resource = json::object{{"type", "host"}, {"id", gate->node()}};
      gate->authorize(request, *principal, std::move(question), respond, [host_status, respond](Verdict verdict) {
        if (!host_status) return respond(HttpResponse::problem(503, "the host's status is not available"));
        json::object status = host_status();
        status["decision_id"] = verdict.decision_id;
        HttpResponse r = HttpResponse::json(200, status);
        r.set("Cache-Control", "no-store");
        respond(std::move(r));
      });
    });
  });
}

}  // namespace branchline::api
