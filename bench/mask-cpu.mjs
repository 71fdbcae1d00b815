// The redactor's throughput in CPU time, for a machine shared with other work: each command
// runs under /usr/bin/time (user + system of the whole pipeline, both ends of the pipe),
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
for (let r = 0; r < runs; r++) {
  for (let k = 0; k < cmds.length; k++) {
    const p = spawnSync('/usr/bin/time', ['-f', '%e %U %S', 'bash', '-c', cmds[k][1]], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (p.status !== 0) throw new Error(`${cmds[k][0]} failed: ${p.stderr}`);
    const out = p.stderr.toString();
    const [e, u, s] = out.trim().split('\n').pop().split(' ').map(Number);
    res[k].wall.push(e);
    res[k].cpu.push(u + s);
  }
}
const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`${mib} MiB, ${runs} rounds, load after: ${load}, node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z`);
console.log('| command | CPU median s | MiB per CPU s | vs plain pipe (CPU) | wall median s | vs plain pipe (wall) |\n|---|---:|---:|---:|---:|---:|');
const c0 = med(res[0].cpu);
const w0 = med(res[0].wall);
cmds.forEach(([name], k) => {
  const c = med(res[k].cpu);
  const w = med(res[k].wall);
  console.log(`| ${name} | ${c.toFixed(3)} | ${(mib / c).toFixed(0)} | ${(c0 / c).toFixed(3)}× | ${w.toFixed(3)} | ${(w0 / w).toFixed(3)}× |`);
});
