import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { PASSPHRASE, requireTool, sesame, type TestHome } from '../helpers/cli.js';
import { keyringTools, secretTool, type KeyringSession } from '../helpers/keyring.js';
import { accountOf, kernelHasSession, keyringHome as setup, lockHome, scriptFile, sealedFile, tierStates, writeConfig } from '../helpers/unlock.js';

const lookup = (ks: KeyringSession, h: TestHome): string => secretTool(ks, ['lookup', 'service', 'sesame', 'username', accountOf(h)]).out;

test('to-keyring refuses before the passphrase is acknowledged as saved elsewhere', async (t) => {
  if (!keyringTools(t)) return;
  const { h, ks, env } = await setup(t);
  const r = await sesame(['passphrase', 'to-keyring'], { env });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /never marked as saved elsewhere/);
  assert.equal(lookup(ks, h), '', 'nothing was written to the keyring');
});

test('to-keyring writes, reads back, and only then removes the session source', async (t) => {
  if (!keyringTools(t) || !requireTool(t, 'keyctl', 'keyutils')) return;
  const { h, ks, env, bareEnv } = await setup(t);
  assert.equal((await sesame(['passphrase', 'acknowledge'], { env })).code, 0);
  assert.equal((await sesame(['unlock'], { env })).code, 0);
  const r = await sesame(['passphrase', 'to-keyring', '--json'], { env: bareEnv });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.out), { stored: true, source: 'session', source_removed: true });
  assert.equal(lookup(ks, h), PASSPHRASE, 'the real Secret Service holds it');
  assert.equal(kernelHasSession(h), false, 'the session source was removed');
  const s = await tierStates(bareEnv);
  assert.equal(s.keyring!.state, 'present');
  assert.equal(s.session!.state, 'absent');
  const g = await sesame(['get', 'K'], { env: bareEnv });
  assert.equal(g.out, 'v\n', g.stderr);
});

test('to-keyring keeps the source when the keyring write fails', async (t) => {
  if (!keyringTools(t) || !requireTool(t, 'keyctl', 'keyutils') || !requireTool(t, 'systemd-creds', 'systemd')) return;
  const { h, ks, env, bareEnv } = await setup(t);
  assert.equal((await sesame(['passphrase', 'acknowledge'], { env })).code, 0);
  assert.equal((await sesame(['unlock'], { env })).code, 0);
  ks.lockCollection();
  const r = await sesame(['passphrase', 'to-keyring'], { env: bareEnv });
  assert.notEqual(r.code, 0);
  // Locked is what the keyring says when it answers in time; a machine under load may hit the 2 s bound first (the same failed write).
  assert.match(r.stderr, /could not store the passphrase in the OS keyring: the OS keyring (is locked|did not answer within 2 s)/);
  assert.match(r.stderr, /session tier .* was left as it was/);
  assert.equal(kernelHasSession(h), true, 'the session source is still there');
  assert.equal((await sesame(['get', 'K'], { env: bareEnv })).out, 'v\n');
  // Same with a sealed source: the credential file stays.
  await lockHome(h);
  assert.equal((await sesame(['passphrase', 'seal'], { env })).code, 0);
  const before = fs.readFileSync(sealedFile(h));
  assert.notEqual((await sesame(['passphrase', 'to-keyring'], { env: bareEnv })).code, 0);
  assert.deepEqual(fs.readFileSync(sealedFile(h)), before, 'the sealed credential is untouched');
});

test('a locked keyring shows unusable and reading it falls through to the next tier with a note', async (t) => {
  if (!keyringTools(t)) return;
  const { h, ks, env, bareEnv } = await setup(t);
  assert.equal((await sesame(['passphrase', 'to-keyring', '--yes'], { env })).code, 0);
  ks.lockCollection();
  const s = await tierStates(bareEnv);
  assert.equal(s.keyring!.state, 'unusable');
  assert.match(s.keyring!.detail!, /locked/);
  writeConfig(h, `passphrase_command = ["${scriptFile(h, 'pw.sh', `echo '${PASSPHRASE}'`)}"]\n`);
  const g = await sesame(['get', 'K'], { env: bareEnv });
  assert.equal(g.code, 0, g.stderr);
  assert.equal(g.out, 'v\n');
  assert.match(g.stderr, /the OS keyring is locked; trying the next unlock source/);
});

test('a wedged keyring is given up after 2 s and the next tier answers', async (t) => {
  if (!keyringTools(t)) return;
  const { h, ks, env, bareEnv } = await setup(t);
  assert.equal((await sesame(['passphrase', 'to-keyring', '--yes'], { env })).code, 0);
  writeConfig(h, `passphrase_command = ["${scriptFile(h, 'pw.sh', `echo '${PASSPHRASE}'`)}"]\n`);
  const pid = ks.daemonPid();
  process.kill(pid, 'SIGSTOP');
  try {
    const t0 = Date.now();
    const g = await sesame(['get', 'K'], { env: bareEnv, timeoutMs: 20_000 });
    const took = Date.now() - t0;
    assert.equal(g.code, 0, g.stderr);
    assert.equal(g.out, 'v\n');
    assert.match(g.stderr, /did not answer within 2 s/);
    assert.ok(took >= 1900 && took < 8000, `gave up after ${took} ms`);
    const s = await tierStates(bareEnv);
    assert.equal(s.keyring!.state, 'unusable');
  } finally {
    process.kill(pid, 'SIGCONT');
  }
});

test('unlock refuses to shadow the OS keyring without --force', async (t) => {
  if (!keyringTools(t) || !requireTool(t, 'keyctl', 'keyutils')) return;
  const { h, env } = await setup(t);
  assert.equal((await sesame(['passphrase', 'to-keyring', '--yes'], { env })).code, 0);
  const r = await sesame(['unlock'], { env });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /would shadow the OS keyring/);
  assert.equal(kernelHasSession(h), false);
  assert.equal((await sesame(['unlock', '--force'], { env })).code, 0);
  assert.equal(kernelHasSession(h), true);
});

test('change rewrites the keyring entry with the new passphrase', async (t) => {
  if (!keyringTools(t)) return;
  const { h, ks, env, bareEnv } = await setup(t);
  assert.equal((await sesame(['passphrase', 'to-keyring', '--yes'], { env })).code, 0);
  const c = await sesame(['passphrase', 'change', '--json'], { env: bareEnv, input: 'brand new pass\n' });
  assert.equal(c.code, 0, c.stderr);
  const rep = JSON.parse(c.out);
  assert.equal(rep.from, 'keyring');
  assert.deepEqual(rep.rewritten, ['keyring']);
  assert.equal(lookup(ks, h), 'brand new pass');
  assert.equal((await sesame(['get', 'K'], { env: bareEnv })).out, 'v\n');
});

test('change reports a keyring it cannot rewrite, exits non-zero, and keeps the new passphrase in the session', async (t) => {
  if (!keyringTools(t) || !requireTool(t, 'keyctl', 'keyutils')) return;
  const { h, ks, env, bareEnv } = await setup(t);
  assert.equal((await sesame(['passphrase', 'to-keyring', '--yes'], { env })).code, 0);
  ks.lockCollection();
  const c = await sesame(['passphrase', 'change'], { env, input: 'brand new pass\n' });
  assert.equal(c.code, 1, c.stderr);
  assert.match(c.stderr, /could not rewrite the OS keyring: the OS keyring is locked/);
  assert.match(c.stderr, /kept in the session tier/);
  assert.equal(kernelHasSession(h), true);
  const g = await sesame(['get', 'K'], { env: bareEnv });
  assert.equal(g.out, 'v\n', `the new passphrase is still usable: ${g.stderr}`);
  assert.equal((await sesame(['get', 'K'], { env })).code, 6, 'the old passphrase no longer opens the vault');
});

test('destroy removes the keyring entry and the sealed credential only when confirmed', async (t) => {
  if (!keyringTools(t) || !requireTool(t, 'systemd-creds', 'systemd')) return;
  const { h, ks, env, bareEnv } = await setup(t);
  assert.equal((await sesame(['passphrase', 'to-keyring', '--yes'], { env })).code, 0);
  assert.equal((await sesame(['passphrase', 'seal', '--yes'], { env })).code, 0);
  const no = await sesame(['passphrase', 'destroy'], { env: bareEnv });
  assert.equal(no.code, 2, 'no terminal and no --yes: refused');
  assert.equal(lookup(ks, h), PASSPHRASE);
  assert.ok(fs.existsSync(sealedFile(h)));
  const yes = await sesame(['passphrase', 'destroy', '--yes', '--json'], { env: bareEnv });
  assert.equal(yes.code, 0, yes.stderr);
  assert.deepEqual(JSON.parse(yes.out), { removed: ['sealed', 'keyring'], failed: [] });
  assert.match(yes.stderr, /UNRECOVERABLE/);
  assert.equal(lookup(ks, h), '');
  assert.equal(fs.existsSync(sealedFile(h)), false);
  assert.equal((await sesame(['get', 'K'], { env: bareEnv })).code, 3, 'nothing unlocks it any more without the passphrase');
});
