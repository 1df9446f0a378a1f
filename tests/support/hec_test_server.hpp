// hec_test_server: a Splunk HTTP Event Collector for the tests, speaking the protocol as Splunk
// documents it: POST /services/collector/event with `Authorization: Splunk <token>` and the
// `X-Splunk-Request-Channel` header (indexer acknowledgement on), a body of JSON events one after
// another, answered {"text":"Success","code":0,"ackId":n}; POST /services/collector/ack
// {"acks":[n...]} answered {"acks":{"n":true|false}}; 401 for a bad token (code 4), 400 without a
// channel (code 10), 503 when busy (code 9). Splunk is not packaged for Debian.
//
// Faults on demand: answer 503 to the next N posts (busy_next), index the next N batches but never
// confirm their acknowledgement (lose_acks_next), stall each answer (stall_ms).
#pragma once

#include "test_http_server.hpp"

#include <boost/json.hpp>

#include <map>
#include <mutex>
#include <set>

namespace branchline::test {

class HecTestServer {
 public:
  explicit HecTestServer(std::string token = "test-token")
      : token_(std::move(token)), server_({}, [this](const TestHttpRequest& r) { return handle(r); }) {}

  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }

  std::atomic<int> busy_next{0};
  std::atomic<int> lose_acks_next{0};
  std::atomic<int> stall_ms{0};

  // Every event received, duplicates included, in arrival order.
  std::vector<boost::json::object> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  // Every request body received, as bytes: what reached the SIEM.
  std::string raw() {
    std::lock_guard lock(mutex_);
    return raw_;
  }
  // The distinct ledger indexes received (what a search deduplicating on ledger_index sees).
  std::set<std::uint64_t> ledger_indexes() {
    std::set<std::uint64_t> out;
    for (const auto& e : events())
      if (auto* f = e.if_contains("fields"); f && f->as_object().contains("ledger_index"))
        out.insert(std::stoull(std::string(f->at("ledger_index").as_string())));
    return out;
  }

 private:
  static TestHttpReply json_reply(int status, boost::json::object body) { return {status, boost::json::serialize(body)}; }

  TestHttpReply handle(const TestHttpRequest& r) {
    if (stall_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(stall_ms.load()));
    if (r.method != "POST") return json_reply(405, {{"text", "Method not allowed"}, {"code", 404}});
    if (r.header("Authorization") != "Splunk " + token_) return json_reply(401, {{"text", "Invalid token"}, {"code", 4}});
    std::string channel = r.header("X-Splunk-Request-Channel");
    if (channel.empty()) return json_reply(400, {{"text", "Data channel is missing"}, {"code", 10}});
    if (r.path == "/services/collector/event") {
      if (busy_next > 0) {
        --busy_next;
        return json_reply(503, {{"text", "Server is busy"}, {"code", 9}});
      }
      std::vector<boost::json::object> batch;
      boost::json::stream_parser parser;
      std::string_view rest = r.body;
      while (!rest.empty()) {
        std::size_t skip = rest.find_first_not_of(" \r\n\t");
        if (skip == std::string_view::npos) break;
        rest.remove_prefix(skip);
        boost::system::error_code ec;
        std::size_t used = parser.write_some(rest.data(), rest.size(), ec);
        if (ec || !parser.done()) return json_reply(400, {{"text", "Invalid data format"}, {"code", 6}});
        boost::json::value v = parser.release();
        parser.reset();
        if (!v.is_object() || !v.as_object().contains("event")) return json_reply(400, {{"text", "Event field is required"}, {"code", 12}});
        batch.push_back(std::move(v.as_object()));
        rest.remove_prefix(used);
      }
      std::lock_guard lock(mutex_);
      raw_ += r.body;
      for (auto& e : batch) events_.push_back(std::move(e));
      std::int64_t id = next_ack_[channel]++;
      bool lost = lose_acks_next > 0;
      if (lost) --lose_acks_next;
      acked_[channel][id] = !lost;
      return json_reply(200, {{"text", "Success"}, {"code", 0}, {"ackId", id}});
    }
    if (r.path == "/services/collector/ack") {
      boost::system::error_code ec;
      boost::json::value v = boost::json::parse(r.body, ec);
      if (ec || !v.is_object() || !v.as_object().contains("acks")) return json_reply(400, {{"text", "Invalid data format"}, {"code", 6}});
      boost::json::object acks;
      std::lock_guard lock(mutex_);
      for (const auto& id : v.at("acks").as_array()) {
        auto& known = acked_[channel];
        auto it = known.find(id.as_int64());
        acks[std::to_string(id.as_int64())] = it != known.end() && it->second;
      }
      return json_reply(200, {{"acks", std::move(acks)}});
    }
    return json_reply(404, {{"text", "The requested URL was not found on this server."}, {"code", 404}});
  }

  std::string token_;
  std::mutex mutex_;
  std::vector<boost::json::object> events_;
  std::string raw_;
  std::map<std::string, std::int64_t> next_ack_;
  std::map<std::string, std::map<std::int64_t, bool>> acked_;
  TestHttpServer server_;  // last: it is stopped (joined) before the state it calls into goes
};

}  // namespace branchline::test
