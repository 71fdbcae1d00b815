#!/usr/bin/env bash
# Vault core benchmarks (no agent), with hyperfine (Debian package `hyperfine`).
#  1. direct `get` vs a bare Argon2id derivation with the same parameters vs `node -e 0`
#  2. `set` on vaults of 10, 1,000 and 10,000 secrets (the whole-file rewrite cost)
# Results: bench/results/*.json and a summary on stdout. Run from the repository root
# after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install -y hyperfine" >&2; exit 1; }
RUNS=${RUNS:-30}
OUT=bench/results; mkdir -p "$OUT"
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
chmod 700 "$WORK"
printf 'bench passphrase\n' > "$WORK/pass"; chmod 600 "$WORK/pass"
export SESAME_PASSPHRASE_FILE="$WORK/pass" SESAME_NO_AGENT=1
S="node $(pwd)/dist/sesame.cjs"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), node $(node --version), $(date -u +%F)"

# 1. get (default Argon2id: 64 MiB, 3 passes)
export SESAME_HOME="$WORK/get"
$S init >/dev/null 2>&1
printf 'value' | $S set API_KEY 2>/dev/null
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$OUT/get-direct.json" \
  -n 'node -e 0' 'node -e 0' \
  -n 'argon2id only (node + kdf)' "node $(pwd)/bench/kdf-only.mjs" \
  -n 'sesame get --no-agent' "$S get API_KEY" >/dev/null
node bench/summarize.mjs "$OUT/get-direct.json"
echo "-- paired (alternating runs): direct get vs Node start + Argon2id; the difference is the CLI's own overhead"
node bench/paired.mjs --runs "$RUNS" --warmup 3 "$S get API_KEY" "node $(pwd)/bench/kdf-only.mjs"

# 2. set on vaults of 10, 1,000, 10,000 secrets (cheap KDF so the file rewrite dominates)
for n in 10 1000 10000; do
  export SESAME_HOME="$WORK/set-$n"
  $S init --kdf-memory 8 --kdf-passes 1 >/dev/null 2>&1
  node -e "for (let i = 0; i < $n; i++) console.log('KEY_' + i + '=' + 'v'.repeat(40) + i)" > "$WORK/in-$n.env"
  $S import "$WORK/in-$n.env" >/dev/null 2>&1
done
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$OUT/set-sizes.json" \
  -n 'set (10 secrets)' "sh -c 'printf v | SESAME_HOME=$WORK/set-10 $S set NEW_KEY'" \
  -n 'set (1,000 secrets)' "sh -c 'printf v | SESAME_HOME=$WORK/set-1000 $S set NEW_KEY'" \
  -n 'set (10,000 secrets)' "sh -c 'printf v | SESAME_HOME=$WORK/set-10000 $S set NEW_KEY'" >/dev/null
node bench/summarize.mjs "$OUT/set-sizes.json"
echo "-- paired (alternating runs): what the size of the vault adds to set"
node bench/paired.mjs --runs "$RUNS" --warmup 3 "sh -c printf v | SESAME_HOME=$WORK/set-10000 $S set NEW_KEY" "sh -c printf v | SESAME_HOME=$WORK/set-10 $S set NEW_KEY"
node bench/paired.mjs --runs "$RUNS" --warmup 3 "sh -c printf v | SESAME_HOME=$WORK/set-1000 $S set NEW_KEY" "sh -c printf v | SESAME_HOME=$WORK/set-10 $S set NEW_KEY"
