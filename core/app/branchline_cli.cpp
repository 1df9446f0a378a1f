// branchline: the operator's command line. Subcommands so far:
//   branchline plugins inspect LIB   the manifest and descriptor of one plugin binary, as JSON
// (config check and plugins list follow with the config loader; see docs/.)
#include "common/log.hpp"
#include "host/load_error.hpp"
#include "host/plugin_library.hpp"

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>

#include <iostream>

namespace {

namespace json = boost::json;
using namespace branchline;

int inspect(const std::string& library_path) {
  try {
    auto library = host::PluginLibrary::load(library_path, 0);
    const auto& m = library->manifest();
    const auto& d = library->descriptor();
    json::object out{
        {"id", m.id},
        {"kind", std::string(host::kind_name(d.kind))},
        {"vendor", m.vendor},
        {"version", m.version},
        {"abi", json::object{{"major", d.abi_major}, {"minor", d.abi_minor}}},
        {"host_abi", json::object{{"major", host::kHostAbiMajor}, {"minor", host::kHostAbiMinor}}},
        {"library", library->path().string()},
        {"sha256", m.sha256},
        {"optional_functions", json::object{{"cancel_call", d.cancel_call != nullptr}, {"health", d.health != nullptr}}},
        {"settings_schema", m.settings_schema},
        {"status", "loadable"},
    };
    std::cout << json::serialize(out) << "\n";
    return 0;
  } catch (const host::LoadError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"branchline: operate a Branchline video-banking host"};
  app.require_subcommand(1);
  auto* plugins = app.add_subcommand("plugins", "Inspect plugin binaries");
  plugins->require_subcommand(1);
  std::string library;
  auto* inspect_cmd = plugins->add_subcommand("inspect", "Show the manifest and descriptor of one plugin binary");
  inspect_cmd->add_option("LIB", library, "path to the plugin's .so")->required();
  CLI11_PARSE(app, argc, argv);
  log::configure(log::Format::Auto, log::Level::Warn);
  if (inspect_cmd->parsed()) return inspect(library);
  return 1;
}
