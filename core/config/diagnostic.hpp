// diagnostic: a configuration problem, reported where it is in the file and how to fix it.
//
// Contract: every configuration error the host reports is one line of the form
//   <file>:<line>:<column>: <message>; fix: <what to do>
// (line and column 1-based; 0:0 when the problem is the file as a whole). A ConfigError carries
// every problem found, so that an operator fixes them in one pass. Messages never contain a
// resolved secret.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace branchline::config {

struct SourceMark {
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based; 0 = unknown
};

struct Diagnostic {
  std::string file;
  SourceMark mark;
  std::string message;
  std::string fix;  // may be empty

  std::string to_string() const;
};

class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const noexcept { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace branchline::config
