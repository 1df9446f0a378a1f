// Fuzz target: policy text, the other parser a bank's files reach. The first byte chooses what the
// rest is: even, a Cedar condition (parsed, then evaluated against a fixed request); odd, a whole
// policy file (loaded, then asked a few questions). Every input must end in a result, an
// ExpressionError/EvaluationError or a ConfigError of one-line diagnostics: never a crash, a hang
// or any other exception.
#include "policy/policy_set.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

using namespace branchline::policy;

const Entities& entities() {
  static const Entities store = [] {
    Entities e;
    e.add(Entity{{"User", "u"}, Record{{"region", Value("east")}, {"level", Value(3)}, {"roles", Value(Set{Value("advisor")})}},
                 {{"Role", "advisor"}}});
    e.add(Entity{{"Role", "advisor"}, {}, {{"Role", "staff"}}});
    e.add(Entity{{"Customer", "c"}, Record{{"region", Value("east")}}, {}});
    return e;
  }();
  return store;
}

Request request(const char* action) {
  return Request{{"User", "u"}, {"Action", action}, {"Customer", "c"},
                 Record{{"acr", Value("urn:loa:2")}, {"amr", Value(Set{Value("pwd")})}, {"n", Value(7)}}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    try {
      Expression e = Expression::parse(text);
      e.evaluate(request("crm.customer.read"), entities());
    } catch (const ExpressionError& e) {
      if (e.offset() > text.size() && e.offset() != kMaxExpressionBytes) __builtin_trap();
    } catch (const EvaluationError&) {
    }
    return 0;
  }
  try {
    PolicySet set = PolicySet::load_text(text, "fuzz.yaml");
    for (const char* action : {"crm.customer.read", "core.operation.transfer", "crm.field_group.read"}) {
      set.decide(request(action), entities());
      set.step_up_needed(action, Authentication{"urn:loa:1", {"pwd"}, 0}, 1000);
    }
    if (set.hash().size() != 64) __builtin_trap();
    (void)set.cedar_text();
  } catch (const branchline::config::ConfigError& e) {
    for (const auto& d : e.diagnostics())
      if (d.to_string().find('\n') != std::string::npos) __builtin_trap();
  }
  return 0;
}
