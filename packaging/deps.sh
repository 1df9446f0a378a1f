#!/usr/bin/env bash
# Installs the Debian 12 packages Branchline needs to build and test, if any is missing.
# Non-interactive; needs root (or sudo). Used by ./packaging/quickstart.sh and, with --tests (the
# peers and tools only the tests use), by ./tests/run.sh.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config clang libclang-rt-14-dev
  libboost1.81-dev libssl-dev openssl libcurl4-openssl-dev libsqlite3-dev libspdlog-dev libfmt-dev
  libyaml-cpp-dev libvalijson-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
if [ "${1:-}" = "--tests" ]; then
  # golang-go + golang-golang-x-mod-dev: the independent Go check of the audit ledger's output
  # (tools/verify-export); python3: small JSON edits in test scripts; rsyslog + rsyslog-gnutls:
  # the RFC 5425 (syslog over TLS) receiver the SIEM forwarding tests send to; curl: a TLS client
  # independent of ours, for the API; testssl.sh: the API's TLS settings, as an examiner checks
  # them; nghttp2-client (h2load) and wrk: the API load script (tests/bench/api_load.sh).
  packages+=(golang-go golang-golang-x-mod-dev python3 rsyslog rsyslog-gnutls curl testssl.sh nghttp2-client wrk)
  # Node.js runs the npm test peers (tests/peers: Cedar's authorizer). Debian 12's nodejs (18) is
  # enough; a newer Node.js already on the machine (with its own npm) is used as it is.
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then packages+=(nodejs npm); fi
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ "${1:-}" = "--tests" ]; then
  # The npm test peers, exactly as locked; installed again only when the lock file changes.
  peers="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/peers" && pwd)"
  stamp="$peers/node_modules/.branchline-lock.sha256"
  want="$(sha256sum "$peers/package-lock.json" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "Installing the npm test peers (tests/peers)"
    (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
fi
