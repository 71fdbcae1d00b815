#!/usr/bin/env bash
# sesame through a running agent vs Node's own start, paired in one hyperfine run each:
#   sesame get KEY       vs  node -e 0   (target: at most 1.15x)
#   sesame run -- true   vs  node -e 0   (target: at most 1.3x)
# Uses the built CLI in $SESAME_DIST (default dist/) in a throwaway home; local only.
# Needs hyperfine (Debian: apt-get install -y hyperfine).
#
#   bash bench/agent.sh [RUNS]        # default 200 runs per command
#   EXPORT=DIR bash bench/agent.sh    # also writes DIR/agent-{get,run}.json (hyperfine's JSON)
#   LOAD=0 bash bench/agent.sh        # skip the load generator (bench/agent-load.mjs) at the end
#   FLOOR=1 bash bench/agent.sh       # also times the floor: a one-file ES module that imports
#                                     # node:net and asks the agent once (what any Node CLI pays)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-200}"
BIN="$PWD/${SESAME_DIST:-dist}/sesame.cjs"
command -v hyperfine >/dev/null || { echo "hyperfine is required: apt-get install -y hyperfine" >&2; exit 1; }
[ -f "$BIN" ] || { echo "build first: npm run build (or SESAME_DIST=DIR node scripts/build.mjs)" >&2; exit 1; }

BASE="$(mktemp -d "${TMPDIR:-/tmp}/sesame-bench-XXXXXX")"
chmod 700 "$BASE"
export HOME="$BASE" SESAME_HOME="$BASE/home" SESAME_PASSPHRASE_FILE="$BASE/pass"
printf 'bench passphrase\n' > "$SESAME_PASSPHRASE_FILE"
chmod 600 "$SESAME_PASSPHRASE_FILE"
cleanup() {
  node "$BIN" agent stop >/dev/null 2>&1 || true
  rm -rf "$BASE"
}
trap cleanup EXIT

node "$BIN" init --kdf-memory 8 --kdf-passes 1 >/dev/null 2>&1
printf 'a-benchmark-value-of-32-bytes!!!' | node "$BIN" set BENCH_KEY --raw >/dev/null 2>&1
node "$BIN" agent start --background --idle 30m --ttl 2h 2>/dev/null
# From here on nothing but the agent can unlock: a fallback would fail, not skew the numbers.
unset SESAME_PASSPHRASE_FILE
[ "$(node "$BIN" get BENCH_KEY)" = 'a-benchmark-value-of-32-bytes!!!' ] || { echo "the agent did not answer" >&2; exit 1; }

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), node $(node --version), $(date -u +%Y-%m-%dT%H:%MZ)"
opts=(-N --warmup 20 --runs "$RUNS")
exp() { if [ -n "${EXPORT:-}" ]; then mkdir -p "$EXPORT"; echo --export-json "$EXPORT/agent-$1.json"; fi; }
floor=()
if [ -n "${FLOOR:-}" ]; then
  cat > "$BASE/floor.mjs" <<'EOF'
import * as net from 'node:net';
const c = net.createConnection({ path: `${process.env.SESAME_HOME}/agent.sock` });
c.on('connect', () => c.write('{"v":1,"op":"get","project":"default","key":"BENCH_KEY"}\n'));
c.on('data', (d) => { process.stdout.write(d); c.destroy(); });
EOF
  floor=(-n 'floor: one-file ESM client' "node $BASE/floor.mjs")
fi
# shellcheck disable=SC2046
hyperfine "${opts[@]}" $(exp get) -n 'node -e 0' 'node -e 0' -n 'sesame get (agent)' "node $BIN get BENCH_KEY" "${floor[@]}"
# shellcheck disable=SC2046
hyperfine "${opts[@]}" $(exp run) -n 'node -e 0' 'node -e 0' -n 'sesame run -- true (agent)' "node $BIN run -- true"
# The same comparisons, paired: A and B alternate, so drift in the machine's speed cancels.
echo "-- paired (alternating runs)"
node bench/paired.mjs --runs "$RUNS" --warmup 10 "node $BIN get BENCH_KEY" 'node -e 0'
node bench/paired.mjs --runs "$RUNS" --warmup 10 "node $BIN run -- true" 'node -e 0'
# The load generator (its own throwaway home and agent); LOAD=0 skips it.
if [ "${LOAD:-1}" != 0 ]; then
  echo "load: node bench/agent-load.mjs (2 s per cell)"
  node bench/agent-load.mjs --seconds 2
fi
