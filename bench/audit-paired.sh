#!/usr/bin/env bash
# The audit log's cost on the read path, paired in one run (docs/benchmarks.md, "The audit
# log on the read path"):
#  1. agent `get` throughput, audit on vs off: `bench/agent-load.mjs --audit paired` (two
#     throwaway homes and agents, cells alternating between them);
#  2. the CLI's `get` through the agent, audit on vs off: hyperfine on two more homes, the two
#     commands alternating by rounds (ROUNDS rounds of RUNS runs each), medians compared.
# The off switch is SESAME_AUDIT=off in the agent's environment (benchmarks only; the agent's
# `agent_start` record says `audit_off`, delegated reads are refused).
#   bash bench/audit-paired.sh [DIST_DIR] [ROUNDS] [RUNS]
set -euo pipefail
DIST=$(cd "${1:-dist}" && pwd)
ROUNDS=${2:-4}
RUNS=${3:-20}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v hyperfine >/dev/null || { echo "hyperfine is needed (apt-get install hyperfine)" >&2; exit 2; }
echo "# $(date -u +%FT%TZ) $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), node $(node --version), load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "## agent get throughput (persistent connections)"
node "$HERE/agent-load.mjs" --audit paired --clients 1,32 --modes persistent --seconds "${SECONDS_PER_CELL:-3}"

BASE=$(mktemp -d /tmp/sesame-auditp-XXXXXX)
chmod 700 "$BASE"
trap 'for m in on off; do SESAME_HOME=$BASE/$m node "$DIST/sesame.cjs" agent stop >/dev/null 2>&1 || true; done; rm -rf "$BASE"' EXIT
printf 'bench passphrase\n' >"$BASE/pass"
chmod 600 "$BASE/pass"
for m in on off; do
  export SESAME_HOME=$BASE/$m SESAME_PASSPHRASE_FILE=$BASE/pass HOME=$BASE
  node "$DIST/sesame.cjs" init --kdf-memory 8 --kdf-passes 1 >/dev/null 2>&1
  printf 'bench-value-0123456789' | node "$DIST/sesame.cjs" set API_KEY --raw >/dev/null 2>&1
  if [ "$m" = off ]; then SESAME_AUDIT=off node "$DIST/sesame.cjs" agent start --background >/dev/null 2>&1; else node "$DIST/sesame.cjs" agent start --background >/dev/null 2>&1; fi
done
echo "## CLI get through the agent (hyperfine, $ROUNDS rounds x $RUNS runs, alternating)"
on=()
off=()
for r in $(seq "$ROUNDS"); do
  for m in on off; do
    hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$BASE/$m-$r.json" \
      "env HOME=$BASE SESAME_HOME=$BASE/$m SESAME_PASSPHRASE_FILE=/nonexistent node $DIST/sesame.cjs get API_KEY" >/dev/null 2>&1
  done
done
node -e '
const fs = require("fs"); const base = process.argv[1]; const rounds = Number(process.argv[2]);
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const all = { on: [], off: [] }; const ratios = [];
for (let r = 1; r <= rounds; r++) {
  const m = {};
  for (const k of ["on", "off"]) { const t = JSON.parse(fs.readFileSync(`${base}/${k}-${r}.json`)).results[0].times; all[k].push(...t); m[k] = med(t); }
  ratios.push(m.on / m.off);
}
console.log(`CLI get: median ${(med(all.on) * 1e3).toFixed(1)} ms audit on vs ${(med(all.off) * 1e3).toFixed(1)} ms off; per-round ratio on/off median ${med(ratios).toFixed(3)}x (${ratios.map((x) => x.toFixed(3)).join(" ")})`);
' "$BASE" "$ROUNDS"
