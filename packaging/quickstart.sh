#!/usr/bin/env bash
# Quick start: installs what is missing, builds Branchline (Release), and shows the plugin host at
# work on this machine. Run from anywhere: ./packaging/quickstart.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

./packaging/deps.sh
build="${BRANCHLINE_BUILD_DIR:-$root/build-release}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build"

# The daemon (branchlined on config/branchline.yaml) is being built step by step (issue 3); until it
# lands, the quick start inspects the plugins this build produced, exactly as the host loads them.
for plugin in "$build"/test-plugins/c-crm.so "$build"/test-plugins/cpp-crm.so; do
  "$build/core/app/branchline" plugins inspect "$plugin"
done
