#!/usr/bin/env bash
# `sesame get KEY` through an agent, two builds side by side, against Node's own start, all
# paired (bench/paired.mjs: A B A B …, medians of per-pair ratios):
#   OLD get vs node -e 0,  NEW get vs node -e 0,  NEW get vs OLD get,
#   and what loading koffi's binary costs on its own (node -e 'require(koffi.node)' vs node -e 0).
#   bash bench/cli-compare.sh OLD_DIST NEW_DIST [RUNS=60]
set -euo pipefail
cd "$(dirname "$0")/.."
OLD="$(cd "$1" && pwd)/sesame.cjs"; NEW="$(cd "$2" && pwd)/sesame.cjs"; RUNS="${3:-60}"
BASE="$(mktemp -d "${TMPDIR:-/tmp}/sesame-bench-XXXXXX")"; chmod 700 "$BASE"
printf 'bench passphrase\n' > "$BASE/pass"; chmod 600 "$BASE/pass"
export HOME="$BASE"
trap 'SESAME_HOME="$BASE/old" node "$OLD" agent stop >/dev/null 2>&1 || true; SESAME_HOME="$BASE/new" node "$NEW" agent stop >/dev/null 2>&1 || true; rm -rf "$BASE"' EXIT
for side in old new; do
  bin=$OLD; [ $side = new ] && bin=$NEW
  export SESAME_HOME="$BASE/$side" SESAME_PASSPHRASE_FILE="$BASE/pass"
  node "$bin" init --kdf-memory 8 --kdf-passes 1 >/dev/null 2>&1
  printf 'a-benchmark-value-of-32-bytes!!!' | node "$bin" set BENCH_KEY --raw >/dev/null 2>&1
  node "$bin" agent start --background --idle 30m --ttl 2h 2>/dev/null
  unset SESAME_PASSPHRASE_FILE
  [ "$(node "$bin" get BENCH_KEY)" = 'a-benchmark-value-of-32-bytes!!!' ] || { echo "the $side agent did not answer" >&2; exit 1; }
done
unset SESAME_HOME
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), node $(node --version), $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
P() { node bench/paired.mjs --runs "$RUNS" --warmup 5 "$@" | grep -v "^[AB] "; }
P "sh -c SESAME_HOME=$BASE/old exec node $OLD get BENCH_KEY" 'sh -c exec node -e 0'
P "sh -c SESAME_HOME=$BASE/new exec node $NEW get BENCH_KEY" 'sh -c exec node -e 0'
P "sh -c SESAME_HOME=$BASE/new exec node $NEW get BENCH_KEY" "sh -c SESAME_HOME=$BASE/old exec node $OLD get BENCH_KEY"
KN="$(node -p "require.resolve('@koromix/koffi-linux-' + process.arch + '/linux_' + process.arch + '/koffi.node')" 2>/dev/null || true)"
[ -n "$KN" ] && P "node -e require('$KN')" 'node -e 0'
