// unix_time: the wall clock as whole seconds since the epoch, as tokens (exp, iat, auth_time) and
// logouts count time.
#pragma once

#include <chrono>
#include <cstdint>

namespace branchline {

inline std::int64_t unix_seconds(std::chrono::system_clock::time_point t = std::chrono::system_clock::now()) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace branchline
