/**
 * The agent core in this process, over a real Unix socket with real peer credentials and
 * a real vault file (cheap KDF). Complements test/e2e/agent-*, which drive the built CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { homePaths } from '../../src/core/paths.js';
import { createVault, mutateVault } from '../../src/core/vault/store.js';
import { SecureKey } from '../../src/core/crypto/sodium.js';
import { startAgent, type AgentHandle } from '../../src/core/agent/daemon.js';
import { takeAgentLock } from '../../src/core/agent/lockfile.js';
import { exchange } from '../helpers/agent.js';
import { serveConnection } from '../../src/core/agent/conn.js';
import { connectAgent } from '../../src/core/agent/client.js';
import { SesameError } from '../../src/core/errors.js';
import { EXIT_CODES } from '../../src/cli/output.js';

async function agentInProcess(connIdleMs = 10_000, watchMs = 5000): Promise<{ h: AgentHandle; paths: ReturnType<typeof homePaths>; logs: string[]; cleanup(): void }> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-unit-agent-'));
  const paths = homePaths(path.join(base, 'home'));
  const pass = Buffer.from('pw');
  const v = createVault(paths, pass, { opslimit: 1, memlimit: 8 * 1024 * 1024 }, {});
  mutateVault(paths, v.master, {}, (u) => u.set('default', 'API', Buffer.from('one')));
  const master = v.master.use((k) => SecureKey.from(k));
  v.dispose();
  const logs: string[] = [];
  const h = await startAgent({ paths, master, lock: takeAgentLock(paths.agentLock), limits: { idleMs: 0, ttlMs: 60_000 }, version: 'test', log: (m) => logs.push(m), connIdleMs, watchMs });
  return {
    h,
    paths,
    logs,
    cleanup: () => {
      h.shutdown('test over');
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

test('several requests in one write are answered in order, one line each', async () => {
  const a = await agentInProcess();
  try {
    const lines = ['{"v":1,"op":"get","project":"default","key":"API","id":1}', '{"v":1,"op":"get","project":"default","key":"NOPE","id":2}', '{"v":1,"op":"status","id":3}'];
    const r = await exchange(a.paths.agentSock, [`${lines.join('\n')}\n`], 3);
    assert.deepEqual(
      r.map((x) => x.id),
      [1, 2, 3],
    );
    assert.equal(Buffer.from(r[0]!.value as string, 'base64').toString(), 'one');
    assert.equal((r[1]!.error as { code: string }).code, 'NOT_FOUND');
    assert.equal((r[2]!.status as { pid: number }).pid, process.pid);
  } finally {
    a.cleanup();
  }
});

test('a request split across writes is answered once its line is complete', async () => {
  const a = await agentInProcess();
  try {
    const r = await exchange(a.paths.agentSock, ['{"v":1,"op":"ge', 't","project":"def', 'ault","key":"API"}', '\n'], 1);
    assert.equal(r[0]!.ok, true);
  } finally {
    a.cleanup();
  }
});

test('a connection idle past its deadline gets a deadline error and is closed', async () => {
  const a = await agentInProcess(200);
  try {
    const t0 = Date.now();
    const r = await exchange(a.paths.agentSock, ['{"v":1,"op":"status"}\n', '{"v":1,"op":"sta'], 5);
    assert.equal(r.length, 2, 'the status answer, then the deadline error, then close');
    assert.equal((r[1]!.error as { detail: { reason: string } }).detail.reason, 'deadline');
    assert.ok(Date.now() - t0 >= 180);
    const t1 = Date.now();
    const trickle = Array.from({ length: 20 }, () => ' ');
    const r2 = await exchange(a.paths.agentSock, ['{"v":1,"op":"status"}\n', ...trickle.map((c) => c)], 5, { gapMs: 50 });
    assert.equal((r2[1]!.error as { detail: { reason: string } }).detail.reason, 'deadline', 'trickled bytes do not extend the deadline');
    assert.ok(Date.now() - t1 < 800, `closed after ${Date.now() - t1} ms, not after the whole trickle`);
  } finally {
    a.cleanup();
  }
});

test('bad arguments are answered before the vault is touched', async () => {
  const a = await agentInProcess();
  try {
    fs.rmSync(a.paths.vault);
    const [bad, good] = await exchange(a.paths.agentSock, ['{"v":1,"op":"get","project":"default","key":"1x"}\n{"v":1,"op":"get","project":"default","key":"API"}\n'], 2);
    assert.equal((bad!.error as { detail: { reason: string } }).detail.reason, 'bad_args');
    assert.equal((good!.error as { code: string }).code, 'NOT_INITIALIZED', 'a valid request does reach the (now missing) vault');
  } finally {
    a.cleanup();
  }
});

test('shutdown wipes the key, removes socket, pid and lock files, and logs the reason', async () => {
  const a = await agentInProcess();
  for (const f of [a.paths.agentSock, a.paths.agentPid, a.paths.agentLock]) assert.ok(fs.existsSync(f), f);
  a.h.shutdown('because');
  assert.equal(await a.h.done, 'because');
  for (const f of [a.paths.agentSock, a.paths.agentPid, a.paths.agentLock]) assert.equal(fs.existsSync(f), false, f);
  assert.ok(a.logs.includes('stopped: because'));
  await assert.rejects(new Promise((resolve, reject) => net.createConnection({ path: a.paths.agentSock }).on('connect', resolve).on('error', reject)), /ENOENT/);
  a.cleanup();
});

test('a peer the agent does not serve gets DENIED, which the client turns into exit 8', async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-unit-deny-'));
  fs.chmodSync(base, 0o700);
  const sock = path.join(base, 'agent.sock');
  const logs: string[] = [];
  // The real connection code, told to serve only another uid: the kernel says we are not it.
  const server = net.createServer((c) => {
    serveConnection(c, { uid: 4_000_000, activity: () => true, handle: () => assert.fail('never dispatched'), stopRequested: () => {}, log: (m) => logs.push(m) });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    const client = await connectAgent(sock, {});
    assert.ok(client);
    const e = await client.get('default', 'API').then(
      () => assert.fail('served'),
      (err: unknown) => err,
    );
    client.close();
    assert.ok(e instanceof SesameError);
    assert.equal(e.code, 'DENIED');
    assert.equal(EXIT_CODES[e.code], 8);
    assert.match(e.message, /denied: the agent serves only uid 4000000/);
    assert.match(logs[0]!, /denied a connection: peer uid \d+ pid \d+ is not uid 4000000/);
  } finally {
    server.close();
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('the client returns null at once when nothing listens, and refuses a socket that is not private', async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-unit-client-'));
  try {
    fs.chmodSync(base, 0o700);
    const t0 = Date.now();
    assert.equal(await connectAgent(path.join(base, 'none.sock'), {}), null);
    fs.writeFileSync(path.join(base, 'file.sock'), '');
    assert.equal(await connectAgent(path.join(base, 'file.sock'), {}), null);
    assert.equal(await connectAgent(`/${'x'.repeat(200)}.sock`, {}), null);
    assert.ok(Date.now() - t0 < 500);
    const server = net.createServer().listen(path.join(base, 'open.sock'));
    await new Promise((r) => server.once('listening', r));
    fs.chmodSync(base, 0o755);
    await assert.rejects(connectAgent(path.join(base, 'open.sock'), {}), (e: SesameError) => e.code === 'INSECURE' && /not private to you/.test(e.message));
    server.close();
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('an agent whose socket was removed stops by itself and cleans up', async () => {
  const a = await agentInProcess(10_000, 50);
  try {
    fs.rmSync(a.paths.agentSock);
    assert.equal(await a.h.done, 'socket removed');
    assert.equal(fs.existsSync(a.paths.agentPid), false);
    assert.equal(fs.existsSync(a.paths.agentLock), false);
  } finally {
    a.cleanup();
  }
});
