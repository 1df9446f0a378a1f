// Fuzz target: what a client writes after '?' or in a form body: parse_form (WHATWG
// x-www-form-urlencoded, strict), then each value as an audit query's time bound
// (audit::normalize_query_time). Every input must end in pairs or a refusal, never a crash, a hang
// or an exception; the invariants below hold for whatever is accepted.
#include "api/http_server.hpp"
#include "audit/retention.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto pairs = branchline::api::parse_form(text, 16);
  if (!pairs) return 0;
  if (pairs->size() > 16) std::abort();  // the bound holds
  for (const auto& [name, value] : *pairs) {
    if (name.size() > text.size() || value.size() > text.size()) std::abort();  // decoding never grows
    auto time = branchline::audit::normalize_query_time(value);
    if (!time) continue;
    // "" stays unbounded; anything else is in the ledger's form, which compares as text.
    if (!time->empty() && (time->size() != 27 || time->back() != 'Z' || (*time)[10] != 'T')) std::abort();
    if (value.empty() != time->empty()) std::abort();
  }
  return 0;
}
