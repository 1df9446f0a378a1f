// Fuzz target: arbitrary bytes as a configuration file. The loader must answer every input with a
// config or a ConfigError: never crash, hang, or throw anything else.
#include "config/config.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace branchline::config;
  LoadOptions options;
  options.getenv = [](const std::string& name) -> std::optional<std::string> {
    if (name == "SET") return std::string("fuzz-secret-value");
    return std::nullopt;
  };
  try {
    load_config_text(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml", options);
  } catch (const ConfigError& e) {
    // Every diagnostic is one line.
    for (const Diagnostic& d : e.diagnostics())
      if (d.to_string().find('\n') != std::string::npos) __builtin_trap();
  }
  return 0;
}
