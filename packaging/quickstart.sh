#!/usr/bin/env bash
# Quick start: installs what is missing, builds Branchline (Release) and runs branchlined on the
# embedded default configuration (config/branchline.yaml) in the foreground. Stop it with Ctrl-C.
# Run from anywhere: ./packaging/quickstart.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

./packaging/deps.sh
build="${BRANCHLINE_BUILD_DIR:-$root/build-release}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBRANCHLINE_BUILD_TESTS=OFF
cmake --build "$build"

echo "== the plugin set of the embedded default"
"$build/bin/branchline" config check
"$build/bin/branchline" plugins list
echo "== branchlined (data in $root/var/branchline, health in var/branchline/run/health.json; Ctrl-C stops it)"
echo "   API: https://127.0.0.1:8443/readyz  (curl --cacert var/branchline/tls/dev-cert.pem https://127.0.0.1:8443/readyz)"
exec "$build/bin/branchlined"
