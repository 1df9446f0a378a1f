#!/usr/bin/env bash
# The SDK as a vendor gets it: install it from the build tree, then build sdk/examples/hello-crm out
# of tree with find_package(BranchlineSDK 1.0), and a plain C file with pkg-config's flags. Then the
# host as a bank installs it, running its embedded default from the install prefix.
# Usage: out_of_tree.sh BUILD_DIR SOURCE_DIR OUT_DIR   (OUT_DIR/build/hello-crm.so is the result)
set -euo pipefail
build="$1" src="$2" out="$3"
rm -rf "$out"
mkdir -p "$out"
cmake --install "$build" --prefix "$out/prefix" --component sdk > "$out/install.log"
test -f "$out/prefix/include/branchline/plugin.hpp"

cmake -S "$src/sdk/examples/hello-crm" -B "$out/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$out/prefix" -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror" > "$out/configure.log"
cmake --build "$out/build" > "$out/build.log"
test -f "$out/build/hello-crm.so"
test -f "$out/build/hello-crm.manifest.json"

# An SDK of another major version is not accepted.
mkdir -p "$out/v2"
printf 'cmake_minimum_required(VERSION 3.25)\nproject(v2 LANGUAGES C)\nfind_package(BranchlineSDK 2.0 REQUIRED)\n' \
  > "$out/v2/CMakeLists.txt"
if cmake -S "$out/v2" -B "$out/v2/build" -DCMAKE_PREFIX_PATH="$out/prefix" > "$out/v2.log" 2>&1; then
  echo "find_package(BranchlineSDK 2.0) accepted a 1.x SDK" >&2
  exit 1
fi

# Without CMake: pkg-config.
pc_dir="$(dirname "$(find "$out/prefix" -name branchline-sdk.pc | head -1)")"
cflags="$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags branchline-sdk)"
printf '#include <branchline/branchline.h>\nint main(void) { return BL_ABI_MAJOR == 1 ? 0 : 1; }\n' > "$out/abi.c"
cc -std=c99 -pedantic-errors -Wall -Werror $cflags "$out/abi.c" -o "$out/abi"
"$out/abi"
# The installed host finds its installed plugins (<prefix>/lib/branchline/plugins) and their
# hashes still match their manifests (installing must not rewrite a plugin binary).
cmake --install "$build" --prefix "$out/host" --component host > "$out/install-host.log"
(cd "$out" && "$out/host/bin/branchline" plugins list --json > "$out/list.json")
test "$(grep -o '"state":"loaded"' "$out/list.json" | wc -l)" -eq 5

echo "out-of-tree SDK build ok: $out/build/hello-crm.so"
