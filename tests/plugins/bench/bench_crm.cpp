// bench_crm: the CRM side of tests/bench: lookup_customer does bench::crm_lookup and completes at
// once; add_note completes with a fixed result and no work (the empty asynchronous call).
#include "../../bench/workload.hpp"

#include <branchline/plugin.hpp>
#include <branchline_plugin_info.h>

namespace {

class BenchCrm final : public branchline::sdk::CrmPlugin {
 public:
  using CrmPlugin::CrmPlugin;
  void lookup_customer(branchline::sdk::Call call) override { call.ok(branchline::bench::crm_lookup(call.body())); }
  void add_note(branchline::sdk::Call call) override { call.ok("{}"); }
};

}  // namespace

BRANCHLINE_PLUGIN(BenchCrm)
