// test_node: the Node.js that runs the npm test peers (tests/peers): the one CMake found, or
// BRANCHLINE_TEST_NODE when set, so that the same tests run the peers on another Node.js, e.g.
// Debian 12's own 18 beside a newer one:
//   BRANCHLINE_TEST_NODE=/usr/bin/node18 ctest -R 'oidc|cedar'
#pragma once

#include <cstdlib>
#include <string>

namespace branchline::test {

inline std::string test_node() {
  const char* chosen = std::getenv("BRANCHLINE_TEST_NODE");
  return chosen && *chosen ? chosen : BRANCHLINE_NODE_EXECUTABLE;
}

}  // namespace branchline::test
