import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, requireTool, sesame, setSecret } from '../helpers/cli.js';
import { bare, kernelHasSession, lockHome, passFile, tierStates, tmpfsRuntime } from '../helpers/unlock.js';

test('unlock with a wrong passphrase writes nothing', async (t) => {
  if (!requireTool(t, 'keyctl', 'keyutils')) return;
  const h = await initHome();
  const r = await sesame(['unlock'], { env: bare(h, { SESAME_PASSPHRASE_FILE: passFile(h, 'wrong', 'not the passphrase') }) });
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /wrong passphrase from SESAME_PASSPHRASE_FILE/);
  assert.equal(kernelHasSession(h), false, 'no key in the kernel keyring');
  assert.equal((await tierStates(bare(h))).session!.state, 'absent');
  h.cleanup();
});

test('unlock with a wrong passphrase writes no session file either', async (t) => {
  const run = tmpfsRuntime(t);
  if (!run) return;
  const h = await initHome();
  const env = bare(h, { XDG_RUNTIME_DIR: run, SESAME_SESSION_STORE: 'file', SESAME_PASSPHRASE_FILE: passFile(h, 'wrong', 'typo') });
  assert.equal((await sesame(['unlock'], { env })).code, 6);
  assert.deepEqual(fs.readdirSync(run), [], 'nothing under XDG_RUNTIME_DIR');
  const ok = await sesame(['unlock', '--json'], { env: { ...env, SESAME_PASSPHRASE_FILE: h.passFile } });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.out).store, 'file');
  assert.equal(fs.readdirSync(path.join(run, 'sesame')).length, 1);
  await sesame(['lock'], { env });
  assert.deepEqual(fs.readdirSync(path.join(run, 'sesame')), [], 'lock removes the file');
  h.cleanup();
});

test('unlock keeps the passphrase for the session: commands then need no other source', async (t) => {
  if (!requireTool(t, 'keyctl', 'keyutils')) return;
  const h = await initHome();
  t.after(() => lockHome(h));
  await setSecret(h, 'API_KEY', 'the-value');
  assert.equal((await sesame(['get', 'API_KEY'], { env: bare(h) })).code, 3, 'locked before');
  const u = await sesame(['unlock'], { env: h.env });
  assert.equal(u.code, 0, u.stderr);
  assert.equal(u.out, '', 'nothing on stdout');
  assert.match(u.stderr, /kept in the kernel session keyring/);
  assert.equal(kernelHasSession(h), true);
  const g = await sesame(['get', 'API_KEY'], { env: bare(h) });
  assert.equal(g.code, 0, g.stderr);
  assert.equal(g.out, 'the-value\n');
  const s = await tierStates(bare(h));
  assert.equal(s.session!.state, 'present');
  h.cleanup();
});

test('lock clears the session tier', async (t) => {
  if (!requireTool(t, 'keyctl', 'keyutils')) return;
  const h = await initHome();
  await setSecret(h, 'K', 'v');
  assert.equal((await sesame(['unlock'], { env: h.env })).code, 0);
  const l = await sesame(['lock', '--json'], { env: bare(h) });
  assert.equal(l.code, 0, l.stderr);
  assert.equal(JSON.parse(l.out).session_entries_cleared, 1);
  assert.equal(kernelHasSession(h), false);
  assert.equal((await sesame(['get', 'K'], { env: bare(h) })).code, 3);
  assert.equal((await sesame(['lock'], { env: bare(h) })).code, 0, 'locking twice is fine');
  h.cleanup();
});

test('lock stops a running agent', async () => {
  const h = await initHome();
  await setSecret(h, 'K', 'v');
  const a = await sesame(['agent', 'start', '--background', '--json'], { env: h.env });
  assert.equal(a.code, 0, a.stderr);
  const pid = (JSON.parse(a.out) as { pid: number }).pid;
  const viaAgent = await sesame(['get', 'K'], { env: bare(h) });
  assert.equal(viaAgent.code, 0, 'the agent serves without a passphrase source');
  const l = await sesame(['lock', '--json'], { env: bare(h) });
  assert.equal(l.code, 0, l.stderr);
  assert.equal(JSON.parse(l.out).agent_stopped, true);
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(alive(), false, 'the agent process is gone');
  assert.equal((await sesame(['get', 'K'], { env: bare(h) })).code, 3, 'nothing serves the vault any more');
  h.cleanup();
});

test('unlock refuses to shadow a sealed credential without --force', async (t) => {
  if (!requireTool(t, 'systemd-creds', 'systemd') || !requireTool(t, 'keyctl', 'keyutils')) return;
  const h = await initHome();
  t.after(() => lockHome(h));
  assert.equal((await sesame(['passphrase', 'seal', '--yes'], { env: h.env })).code, 0);
  const r = await sesame(['unlock'], { env: h.env });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /would shadow the sealed credential/);
  assert.match(r.stderr, /--force/);
  assert.equal(kernelHasSession(h), false);
  const f = await sesame(['unlock', '--force'], { env: h.env });
  assert.equal(f.code, 0, f.stderr);
  assert.equal(kernelHasSession(h), true);
  h.cleanup();
});

test('unlock with no source and no terminal exits 3 and stores nothing', async (t) => {
  if (!requireTool(t, 'keyctl', 'keyutils')) return;
  const h = await initHome();
  const r = await sesame(['unlock'], { env: bare(h) });
  assert.equal(r.code, 3, r.stderr);
  assert.equal(kernelHasSession(h), false);
  h.cleanup();
});

test('a session entry unlocks only its own home', async (t) => {
  if (!requireTool(t, 'keyctl', 'keyutils')) return;
  const a = await initHome();
  const b = await initHome();
  t.after(() => lockHome(a));
  await setSecret(a, 'K', 'a');
  await setSecret(b, 'K', 'b');
  assert.equal((await sesame(['unlock'], { env: a.env })).code, 0);
  assert.equal((await sesame(['get', 'K'], { env: bare(a) })).out, 'a\n');
  assert.equal((await sesame(['get', 'K'], { env: bare(b) })).code, 3, 'the other home (same passphrase) stays locked');
  a.cleanup();
  b.cleanup();
});
