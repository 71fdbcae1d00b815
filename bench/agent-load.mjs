#!/usr/bin/env node
// sesame's agent load generator: N concurrent clients (closed loop, one request in flight
// each) doing `get` against a real agent over its Unix socket, in two modes:
//   persistent  one connection per client, many requests on it
//   connect     a new connection for every request (connect, peer check, get, close)
// Reports requests/s, p50 and p99 latency per (mode, clients). Bounded: each cell runs for
// --seconds (default 2) or --max requests (default 200000), whichever comes first.
// Local only: a Unix socket, nothing on the network.
//
//   node bench/agent-load.mjs [--clients 1,8,32,128] [--modes persistent,connect] [--seconds 2] [--json] [--sock PATH] [--audit on|off|paired] [--token paired]
//
// --audit paired starts two agents on two throwaway homes, one with every read audited (the
// default) and one with SESAME_AUDIT=off (a switch that exists for this benchmark only: owner
// reads unrecorded, delegated reads refused), and runs each cell on both, alternately.
// --token paired runs every cell twice on the same agent, alternately: a protocol v2 `get`
// carrying a capability token (minted with `token new` for the project, before the agent
// starts; checked by digest, scope-decided, and audited as a delegated read) against the same
// v2 `get` with no token (the owner).
// Without --sock it makes a throwaway home with the built CLI ($SESAME_DIST or dist/),
// stores one 32-byte value, starts an agent, measures, and stops it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = parseArgs(process.argv.slice(2));
const CLIENTS = (args.clients ?? '1,8,32,128').split(',').map(Number);
const SECONDS = Number(args.seconds ?? 2);
const MAX = Number(args.max ?? 200_000);
const MODES = (args.modes ?? 'persistent,connect').split(',');
const AUDIT = args.audit ?? 'on';
const TOKEN = args.token === 'paired';
const KEY = 'BENCH_KEY';
const VALUE = 'b'.repeat(32);

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    o[a.slice(2)] = argv[i + 1]?.startsWith('--') || argv[i + 1] === undefined ? true : argv[++i];
  }
  return o;
}

function setup(auditOff = false) {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-bench-'));
  fs.chmodSync(base, 0o700);
  const pass = path.join(base, 'pass');
  fs.writeFileSync(pass, 'bench passphrase\n', { mode: 0o600 });
  const env = { PATH: process.env.PATH, HOME: base, SESAME_HOME: path.join(base, 'home'), SESAME_PASSPHRASE_FILE: pass, ...(auditOff ? { SESAME_AUDIT: 'off' } : {}) };
  const bin = path.join(ROOT, process.env.SESAME_DIST ?? 'dist', 'sesame.cjs');
  const cli = (argv, input) => {
    const r = spawnSync(process.execPath, [bin, ...argv], { env, input: input ?? '', encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sesame ${argv.join(' ')} failed: ${r.stderr}`);
  };
  cli(['init', '--kdf-memory', '8', '--kdf-passes', '1']);
  cli(['set', KEY, '--raw'], VALUE);
  let token;
  if (TOKEN) {
    const r = spawnSync(process.execPath, [bin, 'token', 'new', '--project', 'default', '--name', 'bench'], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sesame token new failed: ${r.stderr}`);
    token = r.stdout.trim();
  }
  cli(['agent', 'start', '--background', '--idle', '10m', '--ttl', '1h']);
  const pid = Number(fs.readFileSync(path.join(env.SESAME_HOME, 'agent.pid'), 'utf8'));
  return { sock: path.join(env.SESAME_HOME, 'agent.sock'), pid, token, done: () => (cli(['agent', 'stop']), fs.rmSync(base, { recursive: true, force: true })) };
}

const V1 = {
  request: Buffer.from(`${JSON.stringify({ v: 1, op: 'get', project: 'default', key: KEY, pid: process.pid })}\n`),
  expected: Buffer.from(`{"v":1,"ok":true,"value":"${Buffer.from(VALUE).toString('base64')}"}\n`),
};
/** A v2 get (id 1, reused once its final frame is out), with or without a token. */
function v2Get(token) {
  return {
    request: Buffer.from(`${JSON.stringify({ v: 2, id: 1, op: 'get', project: 'default', key: KEY, ...(token ? { token } : {}) })}\n`),
    expected: Buffer.from(`{"v":2,"id":1,"frame":"ok","value":"${Buffer.from(VALUE).toString('base64')}"}\n`),
  };
}
let REQUEST = V1.request;
let EXPECTED = V1.expected;

/** One persistent client: request, wait for the reply line, repeat until `until()`. */
function persistentClient(sock, until, record) {
  return new Promise((resolve, reject) => {
    const c = net.createConnection({ path: sock });
    let t0 = 0n;
    let buf = Buffer.alloc(0);
    const send = () => {
      if (until()) return c.end(resolve);
      t0 = process.hrtime.bigint();
      c.write(REQUEST);
    };
    c.on('connect', send);
    c.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      if (buf[buf.length - 1] !== 0x0a) return;
      if (!buf.equals(EXPECTED)) return reject(new Error(`unexpected reply: ${buf.toString().slice(0, 200)}`));
      buf = Buffer.alloc(0);
      record(process.hrtime.bigint() - t0);
      send();
    });
    c.on('error', reject);
  });
}

/** One client that connects anew for every request. */
async function connectClient(sock, until, record) {
  while (!until()) {
    const t0 = process.hrtime.bigint();
    await new Promise((resolve, reject) => {
      const c = net.createConnection({ path: sock });
      let buf = Buffer.alloc(0);
      c.on('connect', () => c.write(REQUEST));
      c.on('data', (d) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        if (buf[buf.length - 1] !== 0x0a) return;
        if (!buf.equals(EXPECTED)) return reject(new Error(`unexpected reply: ${buf.toString().slice(0, 200)}`));
        record(process.hrtime.bigint() - t0);
        c.destroy();
        resolve();
      });
      c.on('error', reject);
    });
  }
}

/** The agent's CPU time so far (user + system, µs), from /proc; NaN when unknown. */
function cpuUs(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // clock ticks: 100 Hz on Linux
  } catch {
    return NaN;
  }
}

async function cell(sock, mode, n, pid) {
  const cpu0 = cpuUs(pid);
  const lat = [];
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(SECONDS * 1e9));
  let count = 0;
  const until = () => count >= MAX || process.hrtime.bigint() >= deadline;
  const record = (ns) => {
    count++;
    lat.push(Number(ns) / 1e6);
  };
  const client = mode === 'persistent' ? persistentClient : connectClient;
  await Promise.all(Array.from({ length: n }, () => client(sock, until, record)));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  const agentCpu = (cpuUs(pid) - cpu0) / count;
  return {
    mode,
    clients: n,
    requests: count,
    seconds: +secs.toFixed(3),
    rps: Math.round(count / secs),
    p50_ms: +q(0.5).toFixed(3),
    p99_ms: +q(0.99).toFixed(3),
    agent_cpu_us_per_req: +agentCpu.toFixed(1),
  };
}

const kinds = TOKEN ? ['owner', 'token'] : AUDIT === 'paired' ? ['on', 'off'] : [AUDIT];
const shared = TOKEN ? setup(AUDIT === 'off') : undefined;
const envs = new Map(kinds.map((k) => [k, shared ?? (args.sock ? { sock: args.sock, done: () => {} } : setup(k === 'off'))]));
/** Before each cell: the request line its kind sends. */
function use(k) {
  if (!TOKEN) return;
  ({ request: REQUEST, expected: EXPECTED } = v2Get(k === 'token' ? shared.token : undefined));
}
const rows = [];
try {
  for (const mode of MODES) {
    for (const k of kinds) {
      use(k);
      await cell(envs.get(k).sock, mode, 8, envs.get(k).pid); // warm-up, not reported
    }
    for (const n of CLIENTS)
      for (const k of kinds) {
        use(k);
        rows.push({ audit: k, ...(await cell(envs.get(k).sock, mode, n, envs.get(k).pid)) });
      }
  }
} finally {
  for (const e of new Set(envs.values())) e.done();
}
if (args.json)
  process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), nproc: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, seconds: SECONDS, rows }, null, 1)}\n`);
else {
  process.stdout.write(
    `${'audit'.padEnd(5)} ${'mode'.padEnd(11)} ${'clients'.padStart(7)} ${'requests'.padStart(9)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'agent CPU µs/req'.padStart(16)}\n`,
  );
  for (const r of rows)
    process.stdout.write(
      `${r.audit.padEnd(5)} ${r.mode.padEnd(11)} ${String(r.clients).padStart(7)} ${String(r.requests).padStart(9)} ${String(r.rps).padStart(8)} ${r.p50_ms.toFixed(3).padStart(8)} ${r.p99_ms.toFixed(3).padStart(8)} ${String(r.agent_cpu_us_per_req).padStart(16)}\n`,
    );
}
