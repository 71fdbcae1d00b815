#!/usr/bin/env bash
# Daemon-mediated exec (issue 10), paired in one run on one agent:
#   1. `sesame run -- true` on a non-revealing profile socket (the agent's exec: resolve, read
#      through the door, posix_spawn, masked stream, exit frame) vs the same `sesame run -- true`
#      on the owner socket (the local fast path: getselected, then execve) — hyperfine, and
#      bench/paired.mjs (A B A B …, median of per-pair ratios);
#   2. time to first byte of `echo hi` through exec on a warm connection vs a local spawn
#      (bench/exec-ttfb.mjs).
#   bash bench/exec.sh [DIST=dist] [RUNS=60]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(cd "${1:-dist}" && pwd)/sesame.cjs"; RUNS="${2:-60}"
BASE="$(mktemp -d "${TMPDIR:-/tmp}/sesame-bench-exec-XXXXXX")"; chmod 700 "$BASE"
printf 'bench passphrase\n' > "$BASE/pass"; chmod 600 "$BASE/pass"
export HOME="$BASE" SESAME_HOME="$BASE/home" SESAME_PASSPHRASE_FILE="$BASE/pass"
trap 'SESAME_HOME="$BASE/home" node "$BIN" agent stop >/dev/null 2>&1 || true; rm -rf "$BASE"' EXIT
node "$BIN" init --kdf-memory 8 --kdf-passes 1 >/dev/null 2>&1
printf 'a-benchmark-value-of-32-bytes!!!' | node "$BIN" set BENCH_KEY --raw >/dev/null 2>&1
mkdir -m 700 "$SESAME_HOME/profiles"
printf 'projects = ["default"]\nkeys = ["*"]\ncommands = ["%s", "%s"]\n' "$(type -P true)" "$(type -P echo)" > "$SESAME_HOME/profiles/bench.toml"
chmod 600 "$SESAME_HOME/profiles/bench.toml"
node "$BIN" agent start --background --idle 30m --ttl 2h 2>/dev/null
unset SESAME_PASSPHRASE_FILE
PROF="$SESAME_HOME/sockets/bench.sock"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), node $(node --version), $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
EXEC="SESAME_AGENT_SOCK=$PROF node $BIN run -- true"
LOCAL="node $BIN run -- true"
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$BASE/h.json" "sh -c '$EXEC'" "sh -c '$LOCAL'" 2>&1 | tail -12
node -e 'const r=require(process.argv[1]).results;for(const x of r)console.log(`hyperfine median ${(x.median*1000).toFixed(1)} ms  ${x.command}`)' "$BASE/h.json"
node bench/paired.mjs --runs "$RUNS" --warmup 5 "sh -c $EXEC" "sh -c $LOCAL" | grep -v "^[AB] "
node bench/exec-ttfb.mjs "$PROF" "$RUNS"
