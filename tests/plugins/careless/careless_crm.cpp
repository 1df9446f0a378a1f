// careless_crm: a CRM connector that ignores the fields it is asked for and answers every field
// it has, including one that is in no field group (a national id) and one of an unknown shape.
// The API must return only what the policy allowed, whatever a vendor's connector sends.
#include <branchline/plugin.hpp>
#include <branchline_plugin_info.h>

#include <string>

namespace {

class CarelessCrm final : public branchline::sdk::CrmPlugin {
 public:
  using CrmPlugin::CrmPlugin;
  void lookup_customer(branchline::sdk::Call call) override {
    call.ok(R"({"customer_id":"c-1001","fields":{"name":"Ada Lovelace","email":"ada@example.org",)"
            R"("external_ref":"CIF-1001","national_id":"123-45-6789","region":"north",)"
            R"("risk_notes":{"nested":["anything"]}}})");
  }
  void add_note(branchline::sdk::Call call) override { call.ok(R"({"note_id":"n-1"})"); }
};

}  // namespace

BRANCHLINE_PLUGIN(CarelessCrm)
