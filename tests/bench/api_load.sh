#!/usr/bin/env bash
# API latency at a fixed rate, over keep-alive TLS 1.3, with h2load (Debian nghttp2-client):
#   ./tests/bench/api_load.sh [RATE_PER_S] [SECONDS] [PATH]    (defaults 5000 20 /healthz)
# Starts branchlined with the build's binary (rate limits raised out of the way), holds RATE_PER_S
# with 10 connections (h2load --rps is per connection), logs every request's latency and prints
# p50/p90/p99/p99.9 and the achieved rate. Then wrk (closed loop) for the peak.
# A PATH under /api/v1/ (but the OpenAPI document) needs a token: the script then starts the real
# OpenID Provider of the tests (tests/peers/oidc-provider.mjs; run ./tests/run.sh once first, for
# its npm packages), signs advisor-1 in, and runs branchlined with identity-oidc trusting it, so
# that every request is authenticated (ES256 signature, claims), decided and audited. Under
# /api/v1/customers/ it adds crm-sqlite and core-banking-sqlite (demo customers in advisor-1's
# region, north): a profile read is then the CRM's region lookup, five decisions in one entry, the
# CRM's read of the allowed fields (while that entry is written; the answer waits until it is
# durable), and the CRM's own audit entries.
# docs/performance.md records the figures.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${BRANCHLINE_BUILD_DIR:-$root/build}"
rate="${1:-5000}" seconds="${2:-20}" path="${3:-/healthz}"
connections="${CONNECTIONS:-10}"  # h2load --h1 keeps one request in flight per connection
command -v h2load > /dev/null || { echo "needs h2load: apt-get install nghttp2-client" >&2; exit 1; }
work="$(mktemp -d)"
daemon=""
trap '[ -n "$daemon" ] && kill "$daemon" 2>/dev/null; [ -n "${idp:-}" ] && kill "$idp" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
plugins="plugins: []"
auth=()
if [[ "$path" == /api/v1/* && "$path" != /api/v1/openapi.json ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$work/idp-key.pem" -out "$work/idp-cert.pem" 2> /dev/null
  NODE_EXTRA_CA_CERTS="$work/idp-cert.pem" node "$root/tests/peers/oidc-provider.mjs" --cert "$work/idp-cert.pem" --key "$work/idp-key.pem" \
    --state "$work/idp" > "$work/idp.out" 2> "$work/idp.err" &
  idp=$!
  for _ in $(seq 100); do [ -s "$work/idp.out" ] && break; sleep 0.1; done
  issuer=$(head -1 "$work/idp.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["issuer"])')
  token=$(curl -sS --cacert "$work/idp-cert.pem" -H 'Content-Type: application/json' -d '{"user":"advisor-1"}' \
    "$issuer/test/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  plugins="plugins:
  - id: identity
    plugin: identity-oidc
    kind: identity
    settings:
      issuers: [{issuer: \"$issuer\", audiences: [branchline-api], client_ids: [advisor-console], claims: [region, branch]}]
    http: {ca_file: $work/idp-cert.pem}"
  if [[ "$path" == /api/v1/customers/* ]]; then
    plugins+="
  - {id: crm, plugin: crm-sqlite, kind: crm, settings: {demo_region: north}}
  - {id: core, plugin: core-banking-sqlite, kind: core_banking}"
  fi
  auth=(-H "Authorization: Bearer $token")
fi
cat > "$work/config.yaml" <<YAML
branchline: 1
node: {id: bench, data_dir: $work/data}
log: {format: json, level: warn}
api:
  listen: 127.0.0.1:0
  rate_limit: {per_ip: {per_second: 1000000, burst: 1000000}, per_principal: {per_second: 1000000, burst: 1000000}}
$plugins
YAML
"$build/bin/branchlined" --config "$work/config.yaml" > /dev/null 2> "$work/stderr" &
daemon=$!
for _ in $(seq 100); do grep -q '"status":"ok"' "$work/data/run/health.json" 2>/dev/null && break; sleep 0.1; done
address=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "$work/data/run/health.json")
url="https://$address$path"

curl -sS --cacert "$work/data/tls/dev-cert.pem" -o /dev/null -w "one request: HTTP %{http_code}\n" "${auth[@]}" "$url"
h2load --h1 -c "$connections" --rps "$(( rate / connections ))" -D "$seconds" --warm-up-time 2 \
  --log-file "$work/latency.log" "${auth[@]}" "$url" > "$work/h2load.txt"
python3 - "$work/latency.log" "$rate" "$seconds" <<'PY'
import sys
rows = [l.split("\t") for l in open(sys.argv[1]) if l.strip()]
ok = sorted(int(r[2]) for r in rows if r[1] == "200")  # start, status, latency (µs)
bad = sum(1 for r in rows if r[1] != "200")
q = lambda p: ok[min(len(ok) - 1, int(p * len(ok)))] / 1000
print(f"fixed rate {sys.argv[2]}/s for {sys.argv[3]} s: {len(ok)} ok, {bad} not 200, "
      f"achieved {len(ok) / float(sys.argv[3]):.0f}/s; latency ms p50 {q(0.50):.3f} p90 {q(0.90):.3f} "
      f"p99 {q(0.99):.3f} p99.9 {q(0.999):.3f} max {ok[-1] / 1000:.3f}")
PY
if command -v wrk > /dev/null; then
  wrk -t 2 -c 64 -d "${seconds}s" --latency "${auth[@]}" "$url" | grep -E "Requests/sec|99%|Non-2xx"
fi
