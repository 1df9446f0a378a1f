#!/usr/bin/env bash
# Runs every test: installs what is missing, builds (warnings are errors), and runs ctest.
# Run from anywhere: ./tests/run.sh   (extra arguments go to ctest, e.g. -R PluginLoader)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

./packaging/deps.sh --tests
build="${BRANCHLINE_BUILD_DIR:-$root/build}"
start=$(date +%s)
cmake -S . -B "$build" -G Ninja -DBRANCHLINE_WERROR=ON
cmake --build "$build"
echo "build took $(( $(date +%s) - start )) s"
cd "$build"
ctest --output-on-failure -j "$(nproc)" --timeout 600 "$@"
