import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, requireTool, sesame } from '../helpers/cli.js';
import { bare, lockHome, passFile, scriptFile, sealedFile, tierStates, tmpfsRuntime, writeConfig } from '../helpers/unlock.js';

const ORDER = ['agent', 'env', 'file', 'session', 'sealed', 'keyring', 'command', 'prompt'];

test('status --json lists every tier in chain order, all absent in a bare home', async () => {
  const h = await initHome();
  const r = await sesame(['status', '--json'], { env: bare(h) });
  assert.equal(r.code, 0, r.stderr);
  const unlock = (JSON.parse(r.out) as { unlock: Array<{ tier: string; state: string }> }).unlock;
  assert.deepEqual(
    unlock.map((t) => t.tier),
    ORDER,
  );
  for (const t of unlock) assert.equal(t.state, 'absent', `${t.tier} is absent`);
  h.cleanup();
});

test('status shows each tier present without reading any secret', async (t) => {
  if (!requireTool(t, 'systemd-creds', 'systemd')) return;
  const h = await initHome();
  t.after(() => lockHome(h));
  assert.equal((await sesame(['unlock'], { env: h.env })).code, 0);
  // A damaged sealed file: present to a probe that does not decrypt, unusable to one that did.
  fs.writeFileSync(sealedFile(h), 'not decrypted by status', { mode: 0o600 });
  const marker = path.join(path.dirname(h.dir), 'command-ran');
  writeConfig(h, `passphrase_command = ["${scriptFile(h, 'pw.sh', `touch ${marker}; echo pw`)}"]\n`);
  const s = await tierStates({ ...h.env, SESAME_PASSPHRASE: 'some value' });
  for (const tier of ['env', 'file', 'session', 'sealed', 'command']) assert.equal(s[tier]!.state, 'present', `${tier}: ${JSON.stringify(s[tier])}`);
  assert.equal(fs.existsSync(marker), false, 'passphrase_command was not run');
  const human = await sesame(['status'], { env: bare(h) });
  assert.match(human.out, /session=present sealed=present keyring=absent command=present/);
  assert.ok(!human.out.includes('some value') && !human.stderr.includes('some value'));
  h.cleanup();
});

test('status shows unusable tiers with the reason', async (t) => {
  const run = tmpfsRuntime(t);
  if (!run) return;
  const h = await initHome();
  const loose = passFile(h, 'loose', 'x');
  fs.chmodSync(loose, 0o644);
  const env = bare(h, { SESAME_PASSPHRASE_FILE: loose, XDG_RUNTIME_DIR: run, SESAME_SESSION_STORE: 'file' });
  assert.equal((await sesame(['unlock', '--force'], { env: { ...env, SESAME_PASSPHRASE_FILE: h.passFile } })).code, 0);
  const sessionFile = path.join(run, 'sesame', fs.readdirSync(path.join(run, 'sesame'))[0]!);
  fs.chmodSync(sessionFile, 0o644);
  fs.writeFileSync(sealedFile(h), 'blob', { mode: 0o600 });
  fs.chmodSync(sealedFile(h), 0o640);
  writeConfig(h, 'passphrase_command = "/nonexistent/pw-helper"\n');
  const s = await tierStates(env);
  assert.equal(s.file!.state, 'unusable');
  assert.match(s.file!.detail!, /group or others/);
  assert.equal(s.session!.state, 'unusable');
  assert.match(s.session!.detail!, /not a private regular file/);
  assert.equal(s.sealed!.state, 'unusable');
  assert.equal(s.command!.state, 'unusable');
  assert.match(s.command!.detail!, /not found/);
  writeConfig(h, 'passphrase_command = "x"\nretries = 3\n');
  const c = await tierStates(env);
  assert.equal(c.command!.state, 'unusable');
  assert.match(c.command!.detail!, /unknown field "retries"/);
  h.cleanup();
});

test('status shows the sealed tier unusable when systemd-creds is missing', async () => {
  const h = await initHome();
  fs.writeFileSync(sealedFile(h), 'blob', { mode: 0o600 });
  const s = await tierStates(bare(h, { PATH: '/nonexistent' }));
  assert.equal(s.sealed!.state, 'unusable');
  assert.match(s.sealed!.detail!, /systemd-creds is not installed/);
  h.cleanup();
});
