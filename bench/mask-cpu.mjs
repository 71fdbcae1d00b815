// The redactor's throughput in CPU time, for a machine shared with other work: each command
// runs under `perf stat -e task-clock` (or /usr/bin/time: user + system) — the CPU time of the
// whole pipeline, both ends of the pipe —
// the commands take turns round by round (A B C D, A B C D, …) so they see the same load,
// and the table gives medians and ratios to the plain pipe of the same rounds.
//
//   node bench/mask-cpu.mjs FILE SECRETS_FILE RUNS NAME=MODULE [NAME=MODULE …]
// FILE: the input (bench/mask-gen.mjs); MODULE: a redactor bundled to one file (bench/mask.sh
// does it with esbuild). Each MODULE is run with 1 and with 100 secrets; two modules compare
// a before and an after in the same rounds.
import { spawnSync } from 'node:child_process';
import { statSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [file, secrets, runsArg, ...mods] = process.argv.slice(2);
if (file === undefined || secrets === undefined || mods.length === 0) {
  console.error('usage: node bench/mask-cpu.mjs FILE SECRETS_FILE RUNS NAME=MODULE [NAME=MODULE …]');
  process.exit(2);
}
const runs = Number(runsArg ?? 5);
const filter = fileURLToPath(new URL('./mask-filter.mjs', import.meta.url));
const mib = statSync(file).size / 1024 / 1024;
const cmds = [
  ['plain pipe', `cat ${file} | cat > /dev/null`],
  ['node copy', `cat ${file} | node ${filter} ${mods[0].split('=')[1]} ${secrets} 0 > /dev/null`],
];
for (const m of mods) {
  const [name, path] = m.split('=');
  for (const n of [1, 100]) cmds.push([`${name}, ${n} secret${n > 1 ? 's' : ''}`, `cat ${file} | node ${filter} ${path} ${secrets} ${n} > /dev/null`]);
}
const res = cmds.map(() => ({ wall: [], cpu: [] }));
// perf's task-clock counts the CPU time of the whole process tree to the microsecond;
// /usr/bin/time's user + system only to 10 ms (too coarse for the plain pipe's ~40 ms).
const perf = spawnSync('perf', ['stat', '-x,', '-e', 'task-clock', '--', 'true'], { stdio: 'pipe' }).status === 0;
for (let r = 0; r < runs; r++) {
  for (let k = 0; k < cmds.length; k++) {
    const t0 = process.hrtime.bigint();
    const p = perf
      ? spawnSync('perf', ['stat', '-x,', '-e', 'task-clock', '--', 'bash', '-c', cmds[k][1]], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawnSync('/usr/bin/time', ['-f', '%U %S', 'bash', '-c', cmds[k][1]], { stdio: ['ignore', 'ignore', 'pipe'] });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    if (p.status !== 0) throw new Error(`${cmds[k][0]} failed: ${p.stderr}`);
    const last = p.stderr.toString().trim().split('\n').pop();
    const cpu = perf
      ? Number(last.split(',')[0]) / 1000
      : last
          .split(' ')
          .map(Number)
          .reduce((a, b) => a + b, 0);
    res[k].wall.push(wall);
    res[k].cpu.push(cpu);
  }
}
const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`${mib} MiB, ${runs} rounds, CPU by ${perf ? 'perf task-clock' : '/usr/bin/time'}, load after: ${load}, node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z`);
console.log('| command | CPU median s | MiB per CPU s | vs plain pipe (CPU) | wall median s | vs plain pipe (wall) |\n|---|---:|---:|---:|---:|---:|');
const c0 = med(res[0].cpu);
const w0 = med(res[0].wall);
cmds.forEach(([name], k) => {
  const c = med(res[k].cpu);
  const w = med(res[k].wall);
  console.log(`| ${name} | ${c.toFixed(3)} | ${(mib / c).toFixed(0)} | ${(c0 / c).toFixed(3)}× | ${w.toFixed(3)} | ${(w0 / w).toFixed(3)}× |`);
});
