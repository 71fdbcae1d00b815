#!/usr/bin/env bash
# CPU profile of the agent under persistent-connection load: starts an agent from
# $SESAME_DIST (default dist/) with `node --cpu-prof`, runs bench/agent-load.mjs against it
# (CLIENTS, default 32; SECONDS, default 4), stops it, and prints the self time per function
# (bench/profile-summary.mjs). The .cpuprofile is kept in $OUT (default a temporary dir).
#
#   SESAME_DIST=dist bash bench/profile-agent.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DIST="${SESAME_DIST:-dist}"
# The agent routes every catchable terminating signal, SIGPROF included, to its shutdown;
# V8's sampling profiler ticks with SIGPROF, so profile a scratch copy of the build in which
# SIGPROF is not in that list (nothing else differs).
PDIST="$(cd "$DIST" && pwd)-prof"
rm -rf "$PDIST"; cp -r "$DIST" "$PDIST"
grep -rl '"SIGPROF", ' "$PDIST" | xargs -r sed -i 's/"SIGPROF", //' || true
BIN="$PDIST/sesame.cjs"
OUT="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/sesame-prof-XXXXXX")}"
BASE="$(mktemp -d "${TMPDIR:-/tmp}/sesame-bench-XXXXXX")"
chmod 700 "$BASE"
export HOME="$BASE" SESAME_HOME="$BASE/home" SESAME_PASSPHRASE_FILE="$BASE/pass"
printf 'bench passphrase\n' > "$SESAME_PASSPHRASE_FILE"; chmod 600 "$SESAME_PASSPHRASE_FILE"
trap 'node "$BIN" agent stop >/dev/null 2>&1 || true; rm -rf "$BASE" "$PDIST"' EXIT
node "$BIN" init --kdf-memory 8 --kdf-passes 1 >/dev/null 2>&1
printf 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' | node "$BIN" set BENCH_KEY --raw >/dev/null 2>&1
# --cpu-prof is not allowed in NODE_OPTIONS; `agent start` passes its own node flags on
node --cpu-prof --cpu-prof-dir="$OUT" "$BIN" agent start --background --idle 30m --ttl 2h 2>/dev/null
node bench/agent-load.mjs --sock "$SESAME_HOME/agent.sock" --clients "${CLIENTS:-32}" --modes persistent --seconds "${SECONDS:-4}"
node "$BIN" agent stop >/dev/null 2>&1
sleep 1
# the agent's own profile is the newest (the CLI processes that started/stopped it wrote theirs too)
prof="$(ls -S "$OUT"/*.cpuprofile | head -1)"
echo "profile: $prof"
node bench/profile-summary.mjs "$prof"
