#!/usr/bin/env bash
# An implementation that is not ours checks our output: branchline-verify-export, built from the
# Go project's golang.org/x/mod/sumdb/{tlog,note} (Debian's golang-golang-x-mod-dev), reads a
# ledger's export, checkpoints and consistency proofs made by `branchline audit`, rebuilds the
# tree itself and agrees with every root, proof and signature. Then it must refuse a tampered
# export (naming the entry), a wrong key, and a forged checkpoint.
# usage: go_tlog_check.sh BUILD_DIR
set -euo pipefail
bin="$1/bin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
db="$work/audit.db"

# Several runs of `audit append` make several checkpoints (one at each close): sizes 2, 8, 26,
# 127 and 1128 (each run adds its entries and one audit.import entry), with more in between.
n=0
for count in 1 5 17 100 1000; do
  for ((i = 0; i < count; i++)); do
    n=$((n + 1))
    printf '{"action":"interop.test","n":%d,"amount":%d.%02d,"note":"caf\\u00e9 \\ud83d\\ude00 <%d>"}\n' \
      "$n" "$((n * 7))" "$((n % 100))" "$n"
  done | "$bin/branchline" audit append --db "$db" >/dev/null
done

"$bin/branchline" audit key --db "$db" > "$work/key"
"$bin/branchline" audit export --db "$db" > "$work/export.jsonl" 2>/dev/null
: > "$work/consistency.jsonl"
sizes=(2 8 26 127)
for old in "${sizes[@]}"; do
  "$bin/branchline" audit consistency --db "$db" --from-size "$old" >> "$work/consistency.jsonl"
  for new in "${sizes[@]}"; do
    if [ "$new" -ge "$old" ]; then
      "$bin/branchline" audit consistency --db "$db" --from-size "$old" --to-size "$new" >> "$work/consistency.jsonl"
    fi
  done
done

echo "== the Go check agrees with every root, proof and signature"
"$bin/branchline-verify-export" -key "$work/key" -full -consistency "$work/consistency.jsonl" "$work/export.jsonl"

echo "== a single inclusion proof from \`audit prove\` checks in Go as well"
"$bin/branchline" audit prove --db "$db" --seq 77 > "$work/prove.json"
python3 - "$work/prove.json" "$work/export.jsonl" > "$work/one.jsonl" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
print(json.dumps({"checkpoint": p["checkpoint"]}))
print(json.dumps({"seq": p["seq"], "entry": p["entry"], "proof": p["proof"]}))
PY
"$bin/branchline-verify-export" -key "$work/key" "$work/one.jsonl"

expect_failure() {  # expect_failure WHAT PATTERN COMMAND...
  local what="$1" pattern="$2"
  shift 2
  if out=$("$@" 2>&1); then
    echo "FAILED: $what was accepted"; exit 1
  fi
  if ! grep -q -- "$pattern" <<<"$out"; then
    echo "FAILED: $what was refused, but not with '$pattern': $out"; exit 1
  fi
  echo "refused as expected: $what: $out"
}

echo "== tampering is refused"
sed '101s/interop.test/interop.tEst/' "$work/export.jsonl" > "$work/altered.jsonl"
expect_failure "an altered entry" "entry 100:" \
  "$bin/branchline-verify-export" -key "$work/key" "$work/altered.jsonl"
go_key="PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
expect_failure "another key" "signature" \
  "$bin/branchline-verify-export" -key "$go_key" "$work/export.jsonl"
# A checkpoint whose root was replaced (the signature no longer covers it).
python3 - "$work/export.jsonl" > "$work/forged.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
head = json.loads(lines[0])
body, sig = head["checkpoint"].split("\n\n", 1)
origin, size, root, *rest = body.split("\n")
head["checkpoint"] = "\n".join([origin, size, "A" * 43 + "=", *rest]) + "\n\n" + sig
print(json.dumps(head))
print("\n".join(lines[1:]))
PY
expect_failure "a forged checkpoint" "signature" \
  "$bin/branchline-verify-export" -key "$work/key" "$work/forged.jsonl"
# An entry moved to another place: its own seq no longer matches.
python3 - "$work/export.jsonl" > "$work/moved.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
a, b = json.loads(lines[10]), json.loads(lines[11])
a["entry"], b["entry"] = b["entry"], a["entry"]
lines[10], lines[11] = json.dumps(a), json.dumps(b)
print("\n".join(lines))
PY
expect_failure "two swapped entries" "entry 10:" \
  "$bin/branchline-verify-export" -key "$work/key" "$work/moved.jsonl"
echo "PASS"
