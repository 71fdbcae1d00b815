/**
 * `agent start --writes` against a real agent started by the built CLI: the owner's writes go
 * through the agent without a passphrase, the same atomic write under the vault lock as a
 * direct one, audited; a read-only agent says so; a token, a profile socket and the v1
 * protocol never write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { ask, sleep, sockOf, startAgent, stopAgent, waitFor } from '../helpers/agent.js';

/** The home's environment without any passphrase source: only an agent can make a write. */
const noPass = (h: TestHome): NodeJS.ProcessEnv => {
  const { SESAME_PASSPHRASE_FILE: _p, ...rest } = h.env;
  return rest;
};
const vaultBytes = (h: TestHome): Buffer => fs.readFileSync(path.join(h.dir, 'vault.json'));
let nextId = 1;

test("with --writes, the owner's set, rm, restore, mv, cp, rollback, purge and projects rename go through the agent without a passphrase", async (t) => {
  const h = await initHome('sesame-writes-');
  t.after(async () => {
    await stopAgent(h);
    h.cleanup();
  });
  await setSecret(h, 'K', 'first');
  assert.equal((await sesame(['projects', 'create', 'work'], { env: h.env })).code, 0);
  await startAgent(h, ['--writes']);
  const env = noPass(h);
  const st = await sesame(['agent', 'status', '--json'], { env });
  assert.equal((JSON.parse(st.out) as { writes: boolean }).writes, true, 'status says writes are on');
  const run = async (args: string[], input?: string): Promise<void> => {
    const r = await sesame(args, { env, ...(input === undefined ? {} : { input }) });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  };
  await run(['set', 'K'], 'second');
  await run(['rollback', 'K']);
  await run(['mv', 'K', 'L']);
  await run(['cp', 'L', '--to-project', 'work']);
  await run(['rm', 'L']);
  await run(['restore', 'L']);
  await run(['set', 'GONE'], 'x');
  await run(['rm', 'GONE']);
  await run(['purge', 'GONE']);
  await run(['projects', 'rename', 'work', 'job']);
  const get = await sesame(['get', 'L'], { env });
  assert.equal(get.out, 'first\n');
  const j = await sesame(['-p', 'job', 'get', 'L'], { env });
  assert.equal(j.out, 'first\n');
  const hist = JSON.parse((await sesame(['history', 'L', '--json'], { env })).out) as { versions: unknown[] };
  assert.equal(hist.versions.length, 3, 'first, second, first again');
  // Audited like direct writes: by the agent, keyed, each write with its event and names.
  await stopAgent(h);
  const audit = await sesame(['audit', 'show', '--json'], { env: h.env });
  assert.equal(audit.code, 0, audit.stderr);
  const recs = JSON.parse(audit.out) as Array<{ event: string; via: string; keys?: string[]; outcome: string }>;
  const viaAgent = recs.filter((r) => r.via === 'agent' && !r.event.startsWith('agent_') && !['get', 'getselected', 'list'].includes(r.event)).map((r) => r.event);
  assert.deepEqual(viaAgent, ['set', 'rollback', 'mv', 'cp', 'rm', 'restore', 'set', 'rm', 'purge', 'project_rename']);
  const verify = await sesame(['audit', 'verify'], { env: h.env });
  assert.equal(verify.code, 0, verify.out + verify.stderr);
});

test('a read-only agent: a write with no passphrase says the agent is read-only (exit 3) and changes nothing', async (t) => {
  const h = await initHome('sesame-ro-');
  t.after(async () => {
    await stopAgent(h);
    h.cleanup();
  });
  await setSecret(h, 'K', 'v');
  await startAgent(h);
  const before = vaultBytes(h);
  const r = await sesame(['set', 'K'], { env: noPass(h), input: 'new' });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /the agent is read-only; start it with --writes, or type the passphrase/);
  assert.doesNotMatch(r.stderr, /start the agent/);
  assert.ok(vaultBytes(h).equals(before));
  // the same write with a passphrase source works directly
  assert.equal((await sesame(['set', 'K'], { env: h.env, input: 'new' })).code, 0);
});

test('the agent refuses a write carrying a token, even the owner full-scope token, and changes nothing', async (t) => {
  const h = await initHome('sesame-wtok-');
  t.after(async () => {
    await stopAgent(h);
    h.cleanup();
  });
  await setSecret(h, 'K', 'v');
  const tk = await sesame(['token', 'new'], { env: h.env });
  assert.equal(tk.code, 0, tk.stderr);
  const token = tk.out.trimEnd();
  await startAgent(h, ['--writes']);
  const before = vaultBytes(h);
  const value = Buffer.from('evil').toString('base64');
  const r = await ask(sockOf(h), { v: 2, id: nextId++, op: 'write', write: 'set', project: 'default', key: 'K', value, token });
  assert.equal(r.frame, 'error', JSON.stringify(r));
  assert.equal((r.error as { code: string }).code, 'DENIED');
  assert.match((r.error as { message: string }).message, /writes go only through the owner socket, without a token/);
  // the CLI with a token in its environment never writes through the agent
  const cli = await sesame(['set', 'K'], { env: { ...noPass(h), SESAME_AGENT_TOKEN: token }, input: 'evil' });
  assert.equal(cli.code, 3, cli.stderr);
  assert.ok(vaultBytes(h).equals(before), 'nothing was written');
  // control: the same request without the token is served
  const ok = await ask(sockOf(h), { v: 2, id: nextId++, op: 'write', write: 'set', project: 'default', key: 'K', value });
  assert.equal(ok.frame, 'ok', JSON.stringify(ok));
  assert.equal(ok.result, 'updated');
});

test('a profile socket never serves writes, even on an agent started with --writes; nor does protocol version 1', async (t) => {
  const h = await initHome('sesame-wprof-');
  t.after(async () => {
    await stopAgent(h);
    h.cleanup();
  });
  await setSecret(h, 'K', 'v');
  const dir = path.join(h.dir, 'profiles');
  fs.mkdirSync(dir, { mode: 0o700 });
  fs.writeFileSync(path.join(dir, 'mine.toml'), 'projects = ["default"]\nkeys = ["*"]\nreveal = true\n', { mode: 0o600 });
  await startAgent(h, ['--writes']);
  const before = vaultBytes(h);
  const value = Buffer.from('evil').toString('base64');
  const prof = await ask(path.join(h.dir, 'sockets', 'mine.sock'), { v: 2, id: nextId++, op: 'write', write: 'set', project: 'default', key: 'K', value });
  assert.equal(prof.frame, 'error', JSON.stringify(prof));
  assert.match((prof.error as { message: string }).message, /unknown op "write"/);
  const v1 = await ask(sockOf(h), { v: 1, op: 'write', write: 'rm', project: 'default', key: 'K' });
  assert.equal(v1.ok, false);
  assert.ok(vaultBytes(h).equals(before), 'nothing was written');
  // the profile socket still reads: the refusal is about writes
  const read = await ask(path.join(h.dir, 'sockets', 'mine.sock'), { v: 2, id: nextId++, op: 'get', project: 'default', key: 'K' });
  assert.equal(read.frame, 'ok', JSON.stringify(read));
});

test('--writes is refused with --require-token or --session (writes never carry a token)', async (t) => {
  const h = await initHome('sesame-wcombo-');
  t.after(() => {
    h.cleanup();
  });
  for (const extra of ['--require-token', '--session']) {
    const r = await sesame(['agent', 'start', '--background', '--writes', extra], { env: h.env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--writes cannot be combined/);
  }
});

test('a write through the agent waits for the vault lock like a direct write, and lands atomically after it', async (t) => {
  const h = await initHome('sesame-wlock-');
  t.after(async () => {
    await stopAgent(h);
    h.cleanup();
  });
  await setSecret(h, 'K', 'v1');
  await startAgent(h, ['--writes']);
  // Another writer holds the vault lock for 1.5 s (flock(1) on the same lock file).
  const holder = spawn('flock', ['-x', path.join(h.dir, 'vault.lock'), 'sleep', '1.5'], { stdio: 'ignore' });
  t.after(() => holder.kill('SIGKILL'));
  await sleep(200);
  const before = vaultBytes(h);
  const t0 = Date.now();
  const r = await sesame(['set', 'K'], { env: noPass(h), input: 'v2' });
  const waited = Date.now() - t0;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(waited >= 1000, `the agent's write waited for the lock (${waited} ms)`);
  assert.ok(!vaultBytes(h).equals(before));
  await waitFor('the holder to exit', () => holder.exitCode !== null);
  const names = fs.readdirSync(h.dir).filter((n) => n.includes('.tmp-'));
  assert.deepEqual(names, [], 'no temp file left behind');
  assert.equal((await sesame(['get', 'K'], { env: noPass(h) })).out, 'v2\n');
});
