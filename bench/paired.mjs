// Paired timing: runs command A and command B alternately (A B A B …) so that both see the
// same machine state, and reports each one's median wall time, the median of the per-pair
// ratios A/B and of the per-pair differences A-B. Commands are split on spaces (no shell),
// except one written `sh -c SCRIPT`, which runs SCRIPT in sh; output is discarded.
// usage: node bench/paired.mjs [--runs N] [--warmup N] 'COMMAND A' 'COMMAND B'
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
let runs = 100;
let warmup = 10;
const cmds = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--warmup') warmup = Number(args[++i]);
  else cmds.push(args[i]);
}
if (cmds.length !== 2 || !(runs > 0)) {
  console.error("usage: node bench/paired.mjs [--runs N] [--warmup N] 'COMMAND A' 'COMMAND B'");
  process.exit(2);
}
const [a, b] = cmds.map((c) => (c.startsWith('sh -c ') ? ['sh', '-c', c.slice(6)] : c.split(' ').filter(Boolean)));
// CPU time (user + system) of the children waited for so far, in ms (Linux: cutime + cstime
// of /proc/self/stat, in 10 ms ticks — coarse per run, fine summed over many). On a shared,
// loaded machine wall times stretch with everyone else's work; CPU time much less so.
function childCpuMs() {
  try {
    const f = readFileSync('/proc/self/stat', 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[13]) + Number(rest[14])) * 10;
  } catch {
    return NaN;
  }
}
const cpu = { a: 0, b: 0 };
function time(cmd, which) {
  const c0 = childCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} exited ${r.status ?? r.signal}`);
  if (which) cpu[which] += childCpuMs() - c0;
  return ms;
}
for (let i = 0; i < warmup; i++) time(a), time(b);
const ta = [];
const tb = [];
for (let i = 0; i < runs; i++) {
  ta.push(time(a, 'a'));
  tb.push(time(b, 'b'));
}
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ratios = ta.map((x, i) => x / tb[i]);
const q = (xs, p) => [...xs].sort((x, y) => x - y)[Math.floor(p * (xs.length - 1))];
console.log(`A ${cmds[0]}: median ${median(ta).toFixed(1)} ms`);
console.log(`B ${cmds[1]}: median ${median(tb).toFixed(1)} ms`);
console.log(`A/B paired: median ${median(ratios).toFixed(3)}x (p25 ${q(ratios, 0.25).toFixed(3)}, p75 ${q(ratios, 0.75).toFixed(3)}, n=${runs})`);
const diffs = ta.map((x, i) => x - tb[i]);
console.log(`A-B paired: median ${median(diffs).toFixed(1)} ms (p25 ${q(diffs, 0.25).toFixed(1)}, p75 ${q(diffs, 0.75).toFixed(1)})`);
if (cpu.a === cpu.a) console.log(`CPU (user+sys, the command's own processes): A ${(cpu.a / runs).toFixed(1)} ms, B ${(cpu.b / runs).toFixed(1)} ms per run; A/B ${(cpu.a / cpu.b).toFixed(3)}x`);
