// workload: the work the benchmarks put behind each kind of call, shared by the in-process
// baseline (a C++ virtual call) and the bench plugins (the same code behind the C ABI), so that
// what differs between the two is the crossing and nothing else.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace branchline::bench {

// A CRM lookup: read the request (about 1 KiB of JSON), answer about 1 KiB of JSON.
inline std::string crm_lookup(std::string_view body) {
  boost::json::value request = boost::json::parse(body);
  const boost::json::object& o = request.as_object();
  boost::json::object fields;
  for (const auto& f : o.at("fields").as_array()) {
    std::string name(f.as_string());
    fields[name] = "value of " + name + " for customer " + std::string(o.at("customer_id").as_string());
  }
  return boost::json::serialize(boost::json::object{{"customer_id", o.at("customer_id")}, {"fields", std::move(fields)}});
}

// About 1 KiB of request: a customer id and 40 field names.
inline std::string crm_request() {
  std::string body = R"({"customer_id":"c-1001","fields":[)";
  for (int i = 0; i < 40; ++i) body += (i ? "," : "") + std::string("\"field_number_") + std::to_string(i) + "\"";
  return body + "]}";
}

}  // namespace branchline::bench
