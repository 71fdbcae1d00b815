import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SesameError } from '../../src/core/errors.js';
import { clearSession, locateSession, readSession, sessionTier, storeSession } from '../../src/core/passphrase/session.js';
import { vaultScope, type TierScope } from '../../src/core/passphrase/store-names.js';
import { sessionKeyringId } from '../../src/core/os/native.js';
import { chainHome } from '../helpers/chain.js';
import { tmpfsRuntime } from '../helpers/unlock.js';

const TMPFS = 0x01021994;
const tierScopeOf = (h: ReturnType<typeof chainHome>): TierScope => vaultScope(h.paths)!;
const desc = (s: TierScope): string => `sesame:session:${s.homeTag}:${s.vaultId}`;

test('the session tier keeps the passphrase in the real kernel session keyring', (t) => {
  if (sessionKeyringId() === null) {
    if (process.env.CI === 'true') throw new Error('the kernel keyring must be usable in CI');
    t.skip('kernel keyring unavailable');
    return;
  }
  const h = chainHome();
  const s = tierScopeOf(h);
  assert.equal(storeSession(h.ctx.env, s, Buffer.from('pw-kernel')), 'kernel');
  assert.equal(readSession(h.ctx.env, s)?.toString(), 'pw-kernel');
  assert.equal(locateSession(h.ctx.env, s), 'kernel');
  const seen = spawnSync('keyctl', ['search', '@s', 'user', desc(s)], { encoding: 'utf8' });
  if (seen.error === undefined) assert.equal(seen.status, 0, 'keyctl (another process of this session) finds the key');
  assert.equal(clearSession(h.ctx.env, s.homeTag), 1);
  assert.equal(readSession(h.ctx.env, s), null);
  assert.equal(locateSession(h.ctx.env, s), null);
  h.cleanup();
});

test('two homes never share a session entry', async () => {
  const a = chainHome();
  const b = chainHome();
  const sa = tierScopeOf(a);
  const sb = tierScopeOf(b);
  assert.notEqual(sa.id, sb.id);
  storeSession(a.ctx.env, sa, Buffer.from('pw-a'));
  assert.equal(readSession(b.ctx.env, sb), null);
  assert.equal((await sessionTier.probe(b.ctx)).state, 'absent');
  assert.equal((await sessionTier.probe(a.ctx)).state, 'present');
  assert.equal(clearSession(b.ctx.env, sb.homeTag), 0, 'clearing one home leaves the other alone');
  assert.equal(readSession(a.ctx.env, sa)?.toString(), 'pw-a');
  clearSession(a.ctx.env, sa.homeTag);
  a.cleanup();
  b.cleanup();
});

test('the file store writes a 0600 file in a tmpfs XDG_RUNTIME_DIR and removes it on clear', (t) => {
  const run = tmpfsRuntime(t);
  if (!run) return;
  const h = chainHome({ XDG_RUNTIME_DIR: run, SESAME_SESSION_STORE: 'file' });
  const s = tierScopeOf(h);
  assert.equal(storeSession(h.ctx.env, s, Buffer.from('pw-file')), 'file');
  const f = path.join(run, 'sesame', `session-${s.id}`);
  assert.equal(fs.statSync(f).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(f)).mode & 0o777, 0o700);
  assert.equal(readSession(h.ctx.env, s)?.toString(), 'pw-file');
  assert.equal(clearSession(h.ctx.env, s.homeTag), 1);
  assert.equal(fs.existsSync(f), false);
  h.cleanup();
});

test('the file store refuses an XDG_RUNTIME_DIR on disk: the passphrase must stay in RAM', () => {
  const disk = fs.mkdtempSync(path.join(os.homedir(), '.sesame-xdg-'));
  fs.chmodSync(disk, 0o700);
  const onDisk = fs.statfsSync(disk).type !== TMPFS;
  const h = chainHome({ XDG_RUNTIME_DIR: disk, SESAME_SESSION_STORE: 'file' });
  if (onDisk) {
    assert.throws(
      () => storeSession(h.ctx.env, tierScopeOf(h), Buffer.from('pw')),
      (e: unknown) => e instanceof SesameError && e.code === 'INSECURE' && /not a tmpfs/.test(e.message),
    );
    assert.deepEqual(fs.readdirSync(disk), [], 'nothing was written');
  }
  fs.rmSync(disk, { recursive: true, force: true });
  h.cleanup();
});

test('the file store refuses a missing or loose XDG_RUNTIME_DIR', (t) => {
  const h = chainHome({ SESAME_SESSION_STORE: 'file' });
  assert.throws(
    () => storeSession(h.ctx.env, tierScopeOf(h), Buffer.from('pw')),
    (e: unknown) => e instanceof SesameError && e.code === 'UNAVAILABLE',
  );
  const run = tmpfsRuntime(t);
  if (run) {
    fs.chmodSync(run, 0o755);
    const loose = chainHome({ XDG_RUNTIME_DIR: run, SESAME_SESSION_STORE: 'file' });
    assert.throws(
      () => storeSession(loose.ctx.env, tierScopeOf(loose), Buffer.from('pw')),
      (e: unknown) => e instanceof SesameError && e.code === 'INSECURE',
    );
    loose.cleanup();
  }
  h.cleanup();
});

test('a session file with loose permissions makes the tier unusable, never silently read', async (t) => {
  const run = tmpfsRuntime(t);
  if (!run) return;
  const h = chainHome({ XDG_RUNTIME_DIR: run, SESAME_SESSION_STORE: 'file' });
  const s = tierScopeOf(h);
  storeSession(h.ctx.env, s, Buffer.from('pw'));
  fs.chmodSync(path.join(run, 'sesame', `session-${s.id}`), 0o644);
  await assert.rejects(sessionTier.fetch(h.ctx), (e: unknown) => e instanceof SesameError && e.code === 'INSECURE');
  await assert.rejects(sessionTier.probe(h.ctx), (e: unknown) => e instanceof SesameError && e.code === 'INSECURE');
  h.cleanup();
});

test('without a vault the session tier is absent', async () => {
  const h = chainHome({}, { vault: false });
  assert.equal((await sessionTier.probe(h.ctx)).state, 'absent');
  assert.equal(await sessionTier.fetch(h.ctx), null);
  h.cleanup();
});
