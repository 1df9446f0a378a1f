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
  # the RFC 5425 (syslog over TLS) receiver the SIEM forwarding tests send to.
  packages+=(golang-go golang-golang-x-mod-dev python3 rsyslog rsyslog-gnutls)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
