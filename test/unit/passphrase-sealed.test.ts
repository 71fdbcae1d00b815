import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { SesameError } from '../../src/core/errors.js';
import { sealedPath, sealedTier, sealPassphrase, unsealPassphrase } from '../../src/core/passphrase/sealed.js';
import { chainHome, type ChainHome } from '../helpers/chain.js';
import { vaultScope } from '../../src/core/passphrase/store-names.js';
import { requireTool } from '../helpers/cli.js';

const vid = (h: ChainHome): string => vaultScope(h.paths)!.vaultId;
const failsClosed = (why: RegExp) => (e: unknown) => e instanceof SesameError && why.test(e.message) && /does not fall back/.test(e.message);

test('sealing with the real systemd-creds writes a 0600 credential that unseals to the passphrase', async (t) => {
  if (!requireTool(t, 'systemd-creds', 'systemd')) return;
  const h = chainHome();
  await sealPassphrase(h.paths, vid(h), h.ctx.env, Buffer.from('sealed pw ü'), 'host');
  const file = sealedPath(h.paths, vid(h));
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.ok(!fs.readFileSync(file).includes(Buffer.from('sealed pw')), 'the file holds no plaintext');
  assert.equal((await unsealPassphrase(h.paths, vid(h), h.ctx.env))?.toString(), 'sealed pw ü');
  const outside = spawnSync('systemd-creds', ['decrypt', '--name=sesame-passphrase', file, '-'], { encoding: 'utf8' });
  assert.equal(outside.stdout, 'sealed pw ü', 'systemd-creds itself reads it (credential name sesame-passphrase)');
  h.cleanup();
});

test("a sealed file that cannot be unsealed fails closed with systemd-creds's reason", async (t) => {
  if (!requireTool(t, 'systemd-creds', 'systemd')) return;
  const h = chainHome();
  fs.writeFileSync(sealedPath(h.paths, vid(h)), 'this is not a credential\n', { mode: 0o600 });
  await assert.rejects(unsealPassphrase(h.paths, vid(h), h.ctx.env), failsClosed(/cannot be unsealed: \S/));
  h.cleanup();
});

test('a credential sealed under another name is refused', async (t) => {
  if (!requireTool(t, 'systemd-creds', 'systemd')) return;
  const h = chainHome();
  const r = spawnSync('systemd-creds', ['encrypt', '--with-key=host', '--name=other', '-', '-'], { input: 'pw' });
  assert.equal(r.status, 0);
  fs.writeFileSync(sealedPath(h.paths, vid(h)), r.stdout, { mode: 0o600 });
  await assert.rejects(unsealPassphrase(h.paths, vid(h), h.ctx.env), failsClosed(/does not match|refusing/i));
  h.cleanup();
});

test('a sealed file with loose permissions is refused, not unsealed', async () => {
  const h = chainHome();
  fs.writeFileSync(sealedPath(h.paths, vid(h)), 'x', { mode: 0o644 });
  fs.chmodSync(sealedPath(h.paths, vid(h)), 0o644);
  await assert.rejects(unsealPassphrase(h.paths, vid(h), h.ctx.env), (e: unknown) => e instanceof SesameError && e.code === 'INSECURE');
  assert.equal((await sealedTier.probe(h.ctx)).state, 'unusable');
  h.cleanup();
});

test('probing the sealed tier never decrypts: a damaged file still shows present', async (t) => {
  if (!requireTool(t, 'systemd-creds', 'systemd')) return;
  const h = chainHome();
  assert.equal((await sealedTier.probe(h.ctx)).state, 'absent');
  fs.writeFileSync(sealedPath(h.paths, vid(h)), 'damaged', { mode: 0o600 });
  assert.equal((await sealedTier.probe(h.ctx)).state, 'present');
  h.cleanup();
});

test('a sealed file without systemd-creds on PATH is unusable and fails closed', async () => {
  const h = chainHome();
  h.ctx.env.PATH = '/nonexistent';
  fs.writeFileSync(sealedPath(h.paths, vid(h)), 'blob', { mode: 0o600 });
  const s = await sealedTier.probe(h.ctx);
  assert.equal(s.state, 'unusable');
  assert.match(s.detail ?? '', /systemd-creds is not installed/);
  await assert.rejects(sealedTier.fetch(h.ctx), failsClosed(/systemd-creds is not installed/));
  h.cleanup();
});

test('no sealed file means the tier is absent and falls through', async () => {
  const h = chainHome();
  assert.equal(await sealedTier.fetch(h.ctx), null);
  h.cleanup();
});
