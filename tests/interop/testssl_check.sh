#!/usr/bin/env bash
# testssl.sh (Debian's package) against the API of a running branchlined, twice:
#   default: TLS 1.3 only: every older protocol "not offered", forward secrecy offered;
#   legacy (api.tls.min_version "1.2"): TLS 1.2 offered too, and no cipher testssl rates weak.
# Usage: testssl_check.sh BUILD_DIR   (ctest: api.testssl)
set -euo pipefail
build="$1"
work="$(mktemp -d)"
daemon=""
cleanup() { [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

# Starts branchlined with `api:` extras ($2) and sets $address to where it listens.
start() {
  local name="$1" extra="$2"
  mkdir -p "$work/$name"
  cat > "$work/$name/config.yaml" <<YAML
branchline: 1
node: {id: testssl, data_dir: $work/$name/data}
log: {format: json}
api:
  listen: 127.0.0.1:0
$extra
plugins: []
YAML
  "$build/bin/branchlined" --config "$work/$name/config.yaml" > /dev/null 2> "$work/$name/stderr" &
  daemon=$!
  for _ in $(seq 100); do
    if grep -q '"status":"ok"' "$work/$name/data/run/health.json" 2>/dev/null; then
      address=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "$work/$name/data/run/health.json")
      return
    fi
    sleep 0.1
  done
  cat "$work/$name/stderr" >&2
  echo "branchlined did not start" >&2
  exit 1
}

stop() { kill "$daemon"; wait "$daemon" || true; daemon=""; }

# Runs testssl.sh -p -f -E and leaves its findings in $work/$1.json.
probe() {
  local name="$1" address="$2"
  testssl --quiet --color 0 --warnings batch --ip one -p -f -E \
    --jsonfile "$work/$name.json" "https://$address" > "$work/$name.log" 2>&1 || true
  [ -s "$work/$name.json" ] || { cat "$work/$name.log"; echo "testssl wrote no findings" >&2; exit 1; }
}

cert="$work/legacy-cert"
start default ""
probe default "$address"
stop
mkdir -p "$cert"
cp "$work/default/data/tls/dev-cert.pem" "$work/default/data/tls/dev-key.pem" "$cert/"
start legacy "  tls: {cert_file: $cert/dev-cert.pem, key_file: $cert/dev-key.pem, min_version: \"1.2\"}"
probe legacy "$address"
stop

python3 - "$work/default.json" "$work/legacy.json" <<'PY'
import json, sys

def findings(path):
    data = json.load(open(path))
    if isinstance(data, dict):  # --jsonfile-pretty layout
        data = [f for scan in data.get("scanResult", []) for key, value in scan.items() if isinstance(value, list) for f in value]
    return {f["id"]: f for f in data if "id" in f}

problems = []
default, legacy = findings(sys.argv[1]), findings(sys.argv[2])

def finding(found, key):
    return found.get(key, {}).get("finding", "missing")

for proto in ["SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2"]:
    if finding(default, proto) != "not offered":
        problems.append(f"default: {proto}: {finding(default, proto)}")
if not finding(default, "TLS1_3").startswith("offered"):
    problems.append(f"default: TLS1_3: {finding(default, 'TLS1_3')}")
for proto in ["SSLv2", "SSLv3", "TLS1", "TLS1_1"]:
    if finding(legacy, proto) != "not offered":
        problems.append(f"legacy: {proto}: {finding(legacy, proto)}")
if not finding(legacy, "TLS1_2").startswith("offered"):
    problems.append(f"legacy: TLS1_2: {finding(legacy, 'TLS1_2')}")
for name, found in [("default", default), ("legacy", legacy)]:
    fs_key = "PFS" if "PFS" in found else "FS"  # testssl 3.0 says PFS, 3.2 FS
    if found.get(fs_key, {}).get("severity") != "OK" or finding(found, fs_key) != "offered":
        problems.append(f"{name}: forward secrecy: {found.get(fs_key)}")
    for key, f in found.items():
        if key.startswith(("cipher", "PFS", "FS")) and f.get("severity") in ("LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN"):
            problems.append(f"{name}: {key}: {f.get('severity')} {f.get('finding')}")
        if key.startswith("cipher-tls1_2"):
            suite = f["finding"].split()[3]
            if not suite.startswith("ECDHE-") or not ("GCM" in suite or "CHACHA20" in suite):
                problems.append(f"{name}: TLS 1.2 suite without ECDHE and AEAD: {suite}")
tls12 = sorted(f["finding"].split()[3] for k, f in legacy.items() if k.startswith("cipher-tls1_2"))
print(f"default: TLS 1.3 {finding(default, 'TLS1_3')}, TLS 1.2 {finding(default, 'TLS1_2')}, "
      f"forward secrecy {finding(default, 'PFS' if 'PFS' in default else 'FS')}")
print(f"legacy: TLS 1.2 {finding(legacy, 'TLS1_2')} with {', '.join(tls12)}")
for p in problems:
    print("PROBLEM:", p)
sys.exit(1 if problems else 0)
PY
