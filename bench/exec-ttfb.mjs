// Time to first byte of an exec through the agent: connect, send `exec` of `echo hi` on a
// socket, and time (a) the first `chunk` frame and (b) the final `exit` frame; against a local
// spawn of the same program (first stdout byte, and exit), alternately. Medians over N runs.
// usage: node bench/exec-ttfb.mjs SOCKET [RUNS=100]
import * as net from 'node:net';
import { spawn } from 'node:child_process';

const [sock, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 100);
const conn = await new Promise((res, rej) => {
  const c = net.createConnection({ path: sock });
  c.once('connect', () => res(c));
  c.once('error', rej);
});
let buf = '';
let waiting = null;
conn.on('data', (d) => {
  buf += d.toString();
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const f = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    waiting?.(f);
  }
});
let id = 0;
function agentOnce() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    let first = null;
    const my = ++id;
    waiting = (f) => {
      if (f.id !== my) return;
      if (f.frame === 'chunk' && first === null) first = Number(process.hrtime.bigint() - t0) / 1e6;
      if (f.frame === 'exit' || f.frame === 'error') {
        if (f.frame === 'error') throw new Error(JSON.stringify(f));
        resolve({ first, end: Number(process.hrtime.bigint() - t0) / 1e6 });
      }
    };
    conn.write(`${JSON.stringify({ v: 2, id: my, op: 'exec', project: 'default', argv: ['echo', 'hi'], cwd: '/' })}\n`);
  });
}
function localOnce() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    let first = null;
    const c = spawn('/bin/echo', ['hi'], { stdio: ['ignore', 'pipe', 'ignore'] });
    c.stdout.once('data', () => (first = Number(process.hrtime.bigint() - t0) / 1e6));
    c.on('close', () => resolve({ first, end: Number(process.hrtime.bigint() - t0) / 1e6 }));
  });
}
const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
for (let i = 0; i < 10; i++) {
  await agentOnce();
  await localOnce();
}
const a = [];
const l = [];
for (let i = 0; i < runs; i++) {
  a.push(await agentOnce());
  l.push(await localOnce());
}
const f = (x) => x.toFixed(2);
console.log(`exec through the agent (warm connection): first byte median ${f(med(a.map((x) => x.first)))} ms, exit frame median ${f(med(a.map((x) => x.end)))} ms`);
console.log(`local spawn from node (child_process):    first byte median ${f(med(l.map((x) => x.first)))} ms, exit median ${f(med(l.map((x) => x.end)))} ms`);
console.log(`ratio agent/local: first byte ${f(med(a.map((x) => x.first)) / med(l.map((x) => x.first)))}, end ${f(med(a.map((x) => x.end)) / med(l.map((x) => x.end)))} (${runs} runs each, alternated)`);
conn.destroy();
