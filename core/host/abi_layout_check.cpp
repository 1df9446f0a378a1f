// abi_layout_check: fails the build when a struct that crosses the plugin ABI changes its size or
// a member its offset, against the golden values in sdk/abi/golden_layout.h (ABI v1, LP64).
// A deliberate change regenerates them with sdk/abi/update_golden.py in the same commit, with the
// reason in the commit message; from 1.0 on only appended members are allowed.
#include <branchline/branchline.h>

#include <cstddef>

#if defined(__LP64__) || defined(_LP64)
#define BL_GOLDEN_SIZE(type, size) \
  static_assert(sizeof(type) == (size), "ABI break: sizeof(" #type ") differs from sdk/abi/golden_layout.h");
#define BL_GOLDEN_OFFSET(type, member, offset) \
  static_assert(offsetof(type, member) == (offset), "ABI break: offsetof(" #type ", " #member ") differs from sdk/abi/golden_layout.h");
#include "../../sdk/abi/golden_layout.h"
#endif

namespace branchline::host {
// The version the host speaks is the one its headers say.
static_assert(BL_ABI_MAJOR == 1, "this host is ABI 1.x");
}  // namespace branchline::host
