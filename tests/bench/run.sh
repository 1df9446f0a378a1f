#!/usr/bin/env bash
# Runs the plugin-call benchmarks as docs/performance.md reports them: every comparison side by
# side in one run, 5 repetitions, medians. Run after ./tests/run.sh (it uses that build).
#   ./tests/bench/run.sh [extra Google Benchmark flags]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${BRANCHLINE_BUILD_DIR:-$root/build}"
cmake --build "$build" --target plugin_call_bench > /dev/null
"$build/tests/bench/plugin_call_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.5 "$@"

# The audit ledger (tests/bench/ledger_bench.cpp): appends against a bare SQLite writer at the same
# batch size, verify of one million entries, proofs. Prints the table docs/performance.md shows.
cmake --build "$build" --target ledger_bench > /dev/null
"$build/tests/bench/ledger_bench"
