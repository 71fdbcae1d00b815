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

/** A dotenv file next to the home. */
function envFile(h: TestHome, name: string, text: string): string {
  const f = path.join(path.dirname(h.dir), name);
  fs.writeFileSync(f, text, { mode: 0o600 });
  return f;
}
type Rec = { event: string; outcome: string; via: string; reason?: string; keys?: string[]; mac: string | null };
async function auditRecs(h: TestHome): Promise<Rec[]> {
  const a = await sesame(['audit', 'show', '--json'], { env: h.env });
  assert.equal(a.code, 0, a.stderr);
  return JSON.parse(a.out) as Rec[];
}

test('import through a --writes agent needs no passphrase, writes all its keys at once and is audited as import via the agent', async (t) => {
  const h = await initHome('sesame-wimp-');
  t.after(async () => {
    await stopAgent(h);
    h.cleanup();
  });
  await setSecret(h, 'KEEP', 'old-keep');
  await startAgent(h, ['--writes']);
  const env = noPass(h);
  const f = envFile(h, 'in.env', 'ALPHA=alpha-value-1\nKEEP=new-keep\nBETA="two\\nlines"\n');
  const r = await sesame(['import', f, '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.out) as { added: string[]; skipped: string[]; overwritten: string[] };
  assert.deepEqual([rep.added, rep.skipped, rep.overwritten], [['ALPHA', 'BETA'], ['KEEP'], []]);
  assert.equal((await sesame(['get', 'ALPHA'], { env })).out, 'alpha-value-1\n');
  assert.equal((await sesame(['get', 'BETA'], { env })).out, 'two\nlines\n');
  assert.equal((await sesame(['get', 'KEEP'], { env })).out, 'old-keep\n', 'an existing key is skipped without --overwrite');
  const o = await sesame(['import', f, '--overwrite'], { env });
  assert.equal(o.code, 0, o.stderr);
  assert.match(o.stderr, /3 overwritten/);
  assert.equal((await sesame(['get', 'KEEP'], { env })).out, 'new-keep\n');
  await stopAgent(h);
  const imports = (await auditRecs(h)).filter((x) => x.event === 'import');
  assert.deepEqual(
    imports.map((x) => [x.via, x.outcome, x.reason, x.keys, x.mac !== null]),
    [
      ['agent', 'ok', 'imported', ['ALPHA', 'BETA'], true],
      ['agent', 'ok', 'imported', ['ALPHA', 'KEEP', 'BETA'], true],
    ],
  );
  assert.equal((await sesame(['audit', 'verify'], { env: h.env })).code, 0);
});

test('the agent refuses an import carrying a token, and a CLI with a token never sends one; nothing changes', async (t) => {
  const h = await initHome('sesame-wimptok-');
  t.after(async () => {
    await stopAgent(h);
    h.cleanup();
  });
  const tk = await sesame(['token', 'new'], { env: h.env });
  assert.equal(tk.code, 0, tk.stderr);
  const token = tk.out.trimEnd();
  await startAgent(h, ['--writes']);
  const before = vaultBytes(h);
  const entries = [{ key: 'EVIL', value: Buffer.from('evil').toString('base64') }];
  const r = await ask(sockOf(h), { v: 2, id: nextId++, op: 'write', write: 'import', project: 'default', token, entries });
  assert.equal(r.frame, 'error', JSON.stringify(r));
  assert.equal((r.error as { code: string }).code, 'DENIED');
  assert.equal((r.error as { detail: { reason: string } }).detail.reason, 'owner_only');
  const f = envFile(h, 'evil.env', 'EVIL=evil\n');
  const cli = await sesame(['import', f], { env: { ...noPass(h), SESAME_AGENT_TOKEN: token } });
  assert.equal(cli.code, 3, cli.stderr);
  assert.ok(vaultBytes(h).equals(before), 'nothing was written');
  // control: the same request without the token is served
  const ok = await ask(sockOf(h), { v: 2, id: nextId++, op: 'write', write: 'import', project: 'default', entries });
  assert.equal(ok.frame, 'ok', JSON.stringify(ok));
  assert.deepEqual([ok.event, ok.result, ok.keys], ['import', 'imported', ['EVIL']]);
});

test('the agent refuses a malformed import (no entries, a repeated key, a stray member, bad base64) whole, and changes nothing', async (t) => {
  const h = await initHome('sesame-wimpbad-');
  t.after(async () => {
    await stopAgent(h);
    h.cleanup();
  });
  await startAgent(h, ['--writes']);
  const before = vaultBytes(h);
  const v = (s: string): string => Buffer.from(s).toString('base64');
  const bad: Array<Record<string, unknown>> = [
    {},
    { entries: [] },
    {
      entries: [
        { key: 'A', value: v('1') },
        { key: 'A', value: v('2') },
      ],
    },
    { entries: [{ key: 'A', value: v('1'), high_value: true }] },
    {
      entries: [
        { key: 'A', value: v('1') },
        { key: 'B', value: 'not base64!' },
      ],
    },
    { entries: [{ key: 'A', value: v('1') }], key: 'A' },
    { entries: [{ key: 'A', value: v('1') }], overwrite: 'yes' },
    { entries: [{ key: '1BAD', value: v('1') }] },
  ];
  for (const extra of bad) {
    const r = await ask(sockOf(h), { v: 2, id: nextId++, op: 'write', write: 'import', project: 'default', ...extra });
    assert.equal(r.frame, 'error', JSON.stringify(extra));
    assert.equal((r.error as { detail: { reason: string } }).detail.reason, 'bad_args', JSON.stringify(r));
  }
  assert.ok(vaultBytes(h).equals(before), 'nothing was written');
});

test('an import too large for one request line is never split: it unlocks directly (all or nothing)', async (t) => {
  const h = await initHome('sesame-wimpbig-');
  t.after(async () => {
    await stopAgent(h);
    h.cleanup();
  });
  await startAgent(h, ['--writes']);
  // Three 20 KiB values: each fits a line alone, together (base64, ~80 KiB) they do not.
  const big = (c: string): string => c.repeat(20 * 1024);
  const f = envFile(h, 'big.env', `B1=${big('a')}\nB2=${big('b')}\nB3=${big('c')}\n`);
  const before = vaultBytes(h);
  const locked = await sesame(['import', f], { env: noPass(h) });
  assert.equal(locked.code, 3, `without a passphrase it cannot be made: ${locked.stderr}`);
  assert.ok(vaultBytes(h).equals(before), 'no part of it went through the agent');
  const r = await sesame(['import', f], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await sesame(['get', 'B3'], { env: h.env })).out, `${big('c')}\n`);
  assert.doesNotMatch(fs.readFileSync(path.join(h.dir, 'agent.log'), 'utf8'), /oversize|over 65536/);
  await stopAgent(h);
  const imports = (await auditRecs(h)).filter((x) => x.event === 'import');
  assert.deepEqual(
    imports.map((x) => [x.via, x.keys]),
    [['cli', ['B1', 'B2', 'B3']]],
  );
  // the same file's first two values fit: through the agent, without a passphrase
  await startAgent(h, ['--writes']);
  const g = envFile(h, 'fits.env', `C1=${big('a')}\nC2=${big('b')}\n`);
  const small = await sesame(['import', g], { env: noPass(h) });
  assert.equal(small.code, 0, small.stderr);
});

test('import --dry-run makes no write: no agent write, no passphrase, no change, no record', async (t) => {
  const h = await initHome('sesame-wimpdry-');
  t.after(async () => {
    await stopAgent(h);
    h.cleanup();
  });
  const f = envFile(h, 'in.env', 'ALPHA=alpha-value-1\n');
  const before = vaultBytes(h);
  // no agent at all, no passphrase source
  const none = await sesame(['import', f, '--dry-run'], { env: noPass(h) });
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stderr, /would import into project default: 1 added/);
  await startAgent(h, ['--writes']);
  const dry = await sesame(['import', f, '--dry-run', '--json'], { env: noPass(h) });
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual((JSON.parse(dry.out) as { added: string[] }).added, ['ALPHA']);
  assert.ok(vaultBytes(h).equals(before), 'nothing was written');
  await stopAgent(h);
  assert.deepEqual(
    (await auditRecs(h)).filter((x) => x.event === 'import'),
    [],
  );
});

test('edit through a --writes agent needs no passphrase (read through the agent, stored as a set via the agent); a read-only agent says so', async (t) => {
  const h = await initHome('sesame-wedit-');
  t.after(async () => {
    await stopAgent(h);
    h.cleanup();
  });
  await setSecret(h, 'K', 'before-edit');
  const ed = path.join(path.dirname(h.dir), 'ed.sh');
  fs.writeFileSync(ed, `#!/bin/sh\ncat "$1" > ${path.join(path.dirname(h.dir), 'seen')}\nprintf 'after-edit\\n' > "$1"\n`, { mode: 0o700 });
  // read-only agent, no passphrase: refused with the read-only message, nothing stored
  await startAgent(h);
  const before = vaultBytes(h);
  const ro = await sesame(['edit', 'K'], { env: { ...noPass(h), EDITOR: ed } });
  assert.equal(ro.code, 3, ro.stderr);
  assert.match(ro.stderr, /the agent is read-only; start it with --writes, or type the passphrase/);
  assert.ok(vaultBytes(h).equals(before));
  assert.equal(fs.existsSync(path.join(path.dirname(h.dir), 'seen')), false, 'the editor never opened: no edit is typed only to be lost');
  await stopAgent(h);
  await startAgent(h, ['--writes']);
  const r = await sesame(['edit', 'K'], { env: { ...noPass(h), EDITOR: ed } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.readFileSync(path.join(path.dirname(h.dir), 'seen'), 'utf8'), 'before-edit');
  assert.equal((await sesame(['get', 'K'], { env: noPass(h) })).out, 'after-edit\n');
  await stopAgent(h);
  const recs = await auditRecs(h);
  const sets = recs.filter((x) => x.event === 'set').map((x) => [x.via, x.reason]);
  assert.deepEqual(sets, [
    ['cli', 'added'],
    ['agent', 'updated'],
  ]);
});
