/**
 * Many writers, one chain: 20 separate node processes (as 20 CLI processes would) append to
 * one home's audit log at the same moment through the built module (AuditLog.append: flock
 * around read-tail + one O_APPEND write); and the real thing: a running agent serving reads
 * (group-committed owner reads, synchronous token reads) while 20 CLI processes write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import { AuditKey, auditFiles } from '../../src/core/audit/log.js';
import { verifyChain } from '../../src/core/audit/verify.js';
import { SecureKey } from '../../src/core/crypto/sodium.js';
import { initHome, sesame, setSecret } from '../helpers/cli.js';
import { ask, startAgent, stopAgent } from '../helpers/agent.js';

const LOG_MODULE = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/core/audit/log.js')).href;
const SODIUM_MODULE = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/core/crypto/sodium.js')).href;

const WRITER = `
const { AuditLog, AuditKey } = await import(process.env.LOG_MODULE);
const { SecureKey } = await import(process.env.SODIUM_MODULE);
const n = Number(process.env.N), id = Number(process.env.ID);
const keyed = id % 2 === 0;
let key;
if (keyed) { const raw = Buffer.from(process.env.MASTER_HEX, 'hex'); const m = SecureKey.from(raw); raw.fill(0); key = AuditKey.fromMaster(m); m.dispose(); }
const log = new AuditLog(process.env.HOME_DIR, key, { lockTimeoutMs: 120000, maxBytes: Number(process.env.MAX) });
while (Date.now() < Number(process.env.START)) {}
for (let i = 0; i < n; i++) log.append({ event: keyed ? 'set' : 'list', outcome: 'ok', via: 'cli', project: 'default', keys: ['W' + id + '_' + i], peer: { uid: 0, pid: process.pid, exe: process.execPath } });
key?.dispose();
`;

function run(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', WRITER], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    p.on('close', (code) => {
      resolve({ code, stderr });
    });
  });
}

test('20 processes appending at once never interleave a line and leave one valid chain (across a rotation)', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-audit-conc-'));
  const master = SecureKey.random();
  const masterHex = master.use((b) => b.toString('hex'));
  const PROCS = 20;
  const N = 15;
  const start = Date.now() + 2000;
  const results = await Promise.all(
    [...Array(PROCS).keys()].map((id) =>
      run({ PATH: process.env.PATH, LOG_MODULE, SODIUM_MODULE, HOME_DIR: home, N: String(N), ID: String(id), MASTER_HEX: masterHex, START: String(start), MAX: String(64 * 1024) }),
    ),
  );
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const files = auditFiles(home);
  assert.ok(files.length >= 2, 'the run crossed at least one rotation');
  const all = files.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').slice(0, -1));
  assert.equal(all.length, PROCS * N);
  // Every line is one whole record; every writer's every record is there once.
  const seen = new Set<string>();
  for (const line of all) {
    const rec = JSON.parse(line) as { keys: string[] };
    seen.add(rec.keys[0]!);
  }
  assert.equal(seen.size, PROCS * N);
  const key = AuditKey.fromMaster(master);
  const v = verifyChain(files, key);
  assert.equal(v.ok, true, JSON.stringify(v.bad));
  assert.equal(v.records, PROCS * N);
  assert.equal(v.head?.seq, PROCS * N);
  assert.equal(v.macChecked, (PROCS / 2) * N);
  key.dispose();
  master.dispose();
});

test('the agent serving reads and 20 CLI processes writing at once leave one chain that verifies, every line whole', async () => {
  const h = await initHome('sesame-audit-conc-agent-');
  try {
    await setSecret(h, 'ALPHA', 'alpha-concurrency-value-2b8e');
    const t = await sesame(['token', 'new', '--keys', 'ALPHA'], { env: h.env });
    assert.equal(t.code, 0, t.stderr);
    const { SESAME_PASSPHRASE_FILE: _p, ...rest } = h.env;
    const tokenEnv = { ...rest, SESAME_AGENT_TOKEN: t.out.trim() };
    await startAgent(h);
    const sock = path.join(h.dir, 'agent.sock');
    let id = 1;
    // 20 CLI processes: 12 `list` (unkeyed, no unlock) and 8 `set` (keyed), all at once, while
    // the agent answers 4 streams of owner gets (group commit) and token gets (one synchronous
    // append each) through the CLI.
    let cliDone = false;
    const clis = Promise.all([...Array(20).keys()].map((i) => (i < 12 ? sesame(['list'], { env: h.env }) : sesame(['set', `W${i}`, '--raw'], { env: h.env, input: `w-value-${i}-conc` })))).finally(
      () => (cliDone = true),
    );
    let ownerReads = 0;
    const owner = async (): Promise<void> => {
      while (!cliDone) {
        const r = await ask(sock, { v: 2, id: id++, op: 'get', project: 'default', key: 'ALPHA' });
        assert.equal(r.frame, 'ok', JSON.stringify(r));
        ownerReads++;
      }
    };
    let tokenReads = 0;
    const delegated = async (): Promise<void> => {
      while (!cliDone) {
        const r = await sesame(['get', 'ALPHA'], { env: tokenEnv });
        assert.equal(r.code, 0, r.stderr);
        tokenReads++;
      }
    };
    const [results] = await Promise.all([clis, owner(), owner(), owner(), delegated()]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    await stopAgent(h);
    const lines = fs.readFileSync(path.join(h.dir, 'audit.jsonl'), 'utf8').split('\n').slice(0, -1);
    const recs = lines.map((l) => JSON.parse(l) as { event: string; via: string; outcome: string });
    const count = (f: (r: { event: string; via: string }) => boolean): number => recs.filter(f).length;
    assert.equal(
      count((r) => r.event === 'list' && r.via === 'cli'),
      12,
    );
    assert.equal(
      count((r) => r.event === 'set'),
      9,
    );
    assert.equal(
      count((r) => r.event === 'get' && r.via === 'agent'),
      ownerReads,
    );
    assert.ok(ownerReads > 0 && tokenReads > 0, `reads ran alongside: ${ownerReads} owner, ${tokenReads} token`);
    assert.equal(
      count((r) => r.event === 'get' && r.via.startsWith('token:')),
      tokenReads,
    );
    const v = await sesame(['audit', 'verify'], { env: h.env });
    assert.equal(v.code, 0, v.stderr + v.out);
    assert.match(v.stderr + v.out, new RegExp(`${lines.length} records`));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
