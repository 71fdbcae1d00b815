#!/usr/bin/env bash
# The redactor's throughput, paired in one hyperfine run: `cat` of a 100 MiB log-like file
#   through a plain pipe                  cat F | cat
#   through Node copying stdin to stdout  cat F | node bench/mask-filter.mjs … 0     (Node's own cost)
#   through the redactor, 1 secret        cat F | node bench/mask-filter.mjs … 1
#   through the redactor, 100 secrets     cat F | node bench/mask-filter.mjs … 100
# Aim (issue #10): 100 secrets at ≥ 0.1× the plain pipe's throughput.
# The redactor is bundled from src/core/redact with esbuild; the file comes from
# bench/mask-gen.mjs (seeded). Needs hyperfine (Debian: apt-get install -y hyperfine).
#
#   bash bench/mask.sh [RUNS=5] [MiB=100]
#   EXPORT=DIR bash bench/mask.sh     # also keeps hyperfine's JSON in DIR/mask.json
#   BEFORE_REV=<git rev> bash bench/mask.sh   # the CPU table also runs that revision's redactor
# After hyperfine, bench/mask-cpu.mjs gives CPU-time medians (perf task-clock of the whole
# pipeline), the commands taking turns round by round: the steadier numbers on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-5}"
MIB="${2:-100}"
command -v hyperfine >/dev/null || { echo "hyperfine is required: apt-get install -y hyperfine" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sesame-mask-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
node_modules/.bin/esbuild src/core/redact/index.ts --bundle --platform=node --format=esm --outfile="$WORK/redact.mjs" --log-level=warning
node bench/mask-gen.mjs "$WORK/load.txt" "$WORK/secrets.hex" "$MIB" 100
F="$WORK/load.txt"
FILTER="node bench/mask-filter.mjs $WORK/redact.mjs $WORK/secrets.hex"

# The masked output must differ from the input (secrets are in it) and hold no secret raw.
MASK_COUNTS=1 $FILTER 100 < "$F" > "$WORK/out" 2> "$WORK/counts"
if node -e '
  const fs = require("fs");
  const out = fs.readFileSync(process.argv[1]);
  const bad = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").filter((h) => out.includes(Buffer.from(h, "hex")));
  process.exit(bad.length === 0 ? 0 : 1);
' "$WORK/out" "$WORK/secrets.hex"; then
  echo "check: no secret survives raw; hits per key: $(node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(Object.values(c).reduce((a, b) => a + b, 0), "in", Object.keys(c).length, "keys")' "$WORK/counts")"
else
  echo "check FAILED: a secret survived" >&2
  exit 1
fi

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg), node $(node --version), $(date -u +%Y-%m-%dT%H:%MZ)"
hyperfine --runs "$RUNS" --warmup 1 --export-json "$WORK/mask.json" \
  -n 'plain pipe' "cat $F | cat > /dev/null" \
  -n 'node copy' "cat $F | $FILTER 0 > /dev/null" \
  -n 'redactor, 1 secret' "cat $F | $FILTER 1 > /dev/null" \
  -n 'redactor, 100 secrets' "cat $F | $FILTER 100 > /dev/null"

# Wall time is what a user waits; CPU time (user + system, hyperfine's means) is what the
# command costs, and the fairer number on a machine shared with other work.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results;
  const mib = Number(process.argv[2]);
  const wall0 = r[0].median;
  const cpu = (x) => x.user + x.system;
  console.log("\n| command | wall median s | MiB/s (wall) | vs plain pipe (wall) | CPU s | MiB per CPU s | vs plain pipe (CPU) |\n|---|---:|---:|---:|---:|---:|---:|");
  for (const x of r) console.log(`| ${x.command.replace(/ \/tmp\S*/g, "")} | ${x.median.toFixed(3)} | ${(mib / x.median).toFixed(1)} | ${(wall0 / x.median).toFixed(3)}× | ${cpu(x).toFixed(3)} | ${(mib / cpu(x)).toFixed(1)} | ${(cpu(r[0]) / cpu(x)).toFixed(3)}× |`);
' "$WORK/mask.json" "$MIB"
if [ -n "${EXPORT:-}" ]; then cp "$WORK/mask.json" "$EXPORT/mask.json"; fi

MODS=()
if [ -n "${BEFORE_REV:-}" ]; then
  mkdir -p "$WORK/before"
  git archive "$BEFORE_REV" src/core | tar -x -C "$WORK/before"
  node_modules/.bin/esbuild "$WORK/before/src/core/redact/index.ts" --bundle --platform=node --format=esm --outfile="$WORK/before.mjs" --log-level=warning
  MODS+=("before=$WORK/before.mjs")
fi
echo
node bench/mask-cpu.mjs "$F" "$WORK/secrets.hex" "$RUNS" "${MODS[@]}" "redactor=$WORK/redact.mjs"
