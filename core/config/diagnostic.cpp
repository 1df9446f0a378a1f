// diagnostic: see diagnostic.hpp.
#include "config/diagnostic.hpp"

#include "host/load_error.hpp"

namespace branchline::config {
namespace {

std::string join(const std::vector<Diagnostic>& diagnostics) {
  std::string text;
  for (const Diagnostic& d : diagnostics) {
    if (!text.empty()) text += '\n';
    text += d.to_string();
  }
  return text;
}

}  // namespace

std::string Diagnostic::to_string() const {
  std::string line = file + ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column) + ": " +
                     host::one_line(message, 600);
  if (!fix.empty()) line += "; fix: " + host::one_line(fix, 300);
  return line;
}

ConfigError::ConfigError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(join(diagnostics)), diagnostics_(std::move(diagnostics)) {}

}  // namespace branchline::config
