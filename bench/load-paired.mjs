#!/usr/bin/env node
// Throughput of several servers under the same load generator, in alternating rounds so a
// shared machine's drift cancels: each round runs one `bench/agent-load.mjs` cell against
// every target in turn (the order rotates every round), and the report gives each target's
// median req/s and p99, and the median of the per-round ratios to the first target.
//
//   node bench/load-paired.mjs [--rounds 10] [--seconds 2] [--clients 32] [--mode persistent]
//        [--bare] NAME=DIST_DIR [NAME=DIST_DIR ...]
//
// Each NAME=DIST_DIR gets its own throwaway home and agent started with DIST_DIR's
// sesame.cjs (so an old build and a new build can be compared side by side); --bare adds
// `bench/bare-server.mjs` (a Node NDJSON server answering a fixed line) as a target.
// Local only: Unix sockets in a private temporary directory.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = { rounds: 10, seconds: 2, clients: 32, mode: 'persistent', bare: false };
const dists = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--bare') opt.bare = true;
  else if (a.startsWith('--')) opt[a.slice(2)] = a === '--mode' ? argv[++i] : Number(argv[++i]);
  else {
    const [name, dir] = a.split('=');
    dists.push({ name, bin: path.resolve(dir, 'sesame.cjs') });
  }
}
if (!dists.length && !opt.bare) {
  console.error('usage: node bench/load-paired.mjs [--rounds N] [--seconds S] [--clients N] [--mode persistent|connect] [--bare] NAME=DIST_DIR ...');
  process.exit(2);
}

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-loadp-'));
fs.chmodSync(base, 0o700);
const pass = path.join(base, 'pass');
fs.writeFileSync(pass, 'bench passphrase\n', { mode: 0o600 });
const targets = [];
const stops = [];
function cleanup() {
  for (const s of stops.reverse()) {
    try {
      s();
    } catch {
      /* already stopped */
    }
  }
  fs.rmSync(base, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

for (const d of dists) {
  const env = { PATH: process.env.PATH, HOME: base, SESAME_HOME: path.join(base, `home-${d.name}`), SESAME_PASSPHRASE_FILE: pass };
  const cli = (args, input) => {
    const r = spawnSync(process.execPath, [d.bin, ...args], { env, input: input ?? '', encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${d.name}: sesame ${args.join(' ')} failed: ${r.stderr}`);
  };
  cli(['init', '--kdf-memory', '8', '--kdf-passes', '1']);
  cli(['set', 'BENCH_KEY', '--raw'], 'b'.repeat(32));
  cli(['agent', 'start', '--background', '--idle', '30m', '--ttl', '2h']);
  stops.push(() => cli(['agent', 'stop']));
  const pid = Number(fs.readFileSync(path.join(env.SESAME_HOME, 'agent.pid'), 'utf8').trim().split(/\s+/)[0]);
  targets.push({ name: d.name, sock: path.join(env.SESAME_HOME, 'agent.sock'), pid });
}
if (opt.bare) {
  const sock = path.join(base, 'bare.sock');
  const p = spawn(process.execPath, [path.join(HERE, 'bare-server.mjs'), sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    p.stdout.once('data', resolve);
    p.once('exit', (c) => reject(new Error(`bare server exited ${c}`)));
  });
  p.stdout.destroy(); // its pipe would keep this process alive past the report
  stops.push(() => p.kill('SIGTERM'));
  targets.push({ name: 'bare', sock, pid: p.pid });
}

/** CPU time (user + system) the server process has used so far, in ms (Linux /proc). */
function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

function cell(t) {
  const cpu0 = cpuMs(t.pid);
  const r = spawnSync(process.execPath, [path.join(HERE, 'agent-load.mjs'), '--sock', t.sock, '--clients', String(opt.clients), '--modes', opt.mode, '--seconds', String(opt.seconds), '--json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`load on ${t.name} failed: ${r.stderr}`);
  const row = JSON.parse(r.stdout).rows[0];
  // the server's CPU per request: what it costs, whatever share of the CPUs it was given
  row.cpu_us = ((cpuMs(t.pid) - cpu0) * 1000) / row.requests;
  return row;
}

const results = new Map(targets.map((t) => [t.name, []]));
for (let round = 0; round < opt.rounds; round++) {
  const order = targets.map((_, i) => targets[(i + round) % targets.length]);
  for (const t of order) results.get(t.name).push(cell(t));
  process.stderr.write(`round ${round + 1}/${opt.rounds}: ${targets.map((t) => `${t.name} ${results.get(t.name).at(-1).rps}/s ${results.get(t.name).at(-1).cpu_us.toFixed(1)}us`).join(', ')}\n`);
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];
console.log(`machine: ${os.cpus().length} CPUs, ${os.cpus()[0]?.model}, node ${process.version}, ${new Date().toISOString()}; ${opt.mode}, ${opt.clients} clients, ${opt.seconds} s x ${opt.rounds} rounds`);
for (const t of targets) {
  const rs = results.get(t.name);
  console.log(`${t.name.padEnd(10)} req/s median ${String(median(rs.map((r) => r.rps))).padStart(7)} (p25 ${q(rs.map((r) => r.rps), 0.25)}, p75 ${q(rs.map((r) => r.rps), 0.75)})  p50 ${median(rs.map((r) => r.p50_ms)).toFixed(3)} ms  p99 ${median(rs.map((r) => r.p99_ms)).toFixed(3)} ms  server CPU ${median(rs.map((r) => r.cpu_us)).toFixed(1)} us/request`);
}
const ref = targets[0];
for (const t of targets.slice(1)) {
  const ratios = results.get(t.name).map((r, i) => r.rps / results.get(ref.name)[i].rps);
  const cpu = results.get(t.name).map((r, i) => r.cpu_us / results.get(ref.name)[i].cpu_us);
  console.log(`${t.name}/${ref.name} per-round ratio: req/s median ${median(ratios).toFixed(3)}x (p25 ${q(ratios, 0.25).toFixed(3)}, p75 ${q(ratios, 0.75).toFixed(3)}); CPU/request median ${median(cpu).toFixed(3)}x`);
}
for (let i = 0; i < targets.length; i++)
  for (let j = i + 1; j < targets.length; j++) {
    if (i === 0) continue;
    const [a, b] = [targets[i], targets[j]];
    const ratios = results.get(a.name).map((r, k) => r.rps / results.get(b.name)[k].rps);
    const cpu = results.get(a.name).map((r, k) => r.cpu_us / results.get(b.name)[k].cpu_us);
    console.log(`${a.name}/${b.name} per-round ratio: req/s median ${median(ratios).toFixed(3)}x (p25 ${q(ratios, 0.25).toFixed(3)}, p75 ${q(ratios, 0.75).toFixed(3)}); CPU/request median ${median(cpu).toFixed(3)}x`);
  }
process.exit(0); // runs cleanup: stops the agents and the bare server, removes the homes
