/**
 * The token file and the profiles directory as PolicyStore sources (policy/store.ts): their
 * loaders build the snapshot authorize() decides against; a bad file refuses open naming the
 * file and line; a bad reload keeps the old tokens and profiles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { authorize } from '../../src/core/policy/authorize.js';
import { withToken, type Caller } from '../../src/core/policy/caller.js';
import { profilesDir, profilesLoader } from '../../src/core/policy/profiles.js';
import { PolicyStore } from '../../src/core/policy/store.js';
import { newToken, revokeToken, tokenFilePath, tokensLoader, verifyToken } from '../../src/core/policy/tokens.js';

const UID = 1000;
const NOW = Date.parse('2026-11-30T12:00:00.000Z');

function home(): { dir: string; done(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-sources-'));
  fs.chmodSync(dir, 0o700);
  return {
    dir,
    done: () => {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const owner: Caller = { uid: UID, gid: UID, pid: 1, startTime: 1, exe: null, listener: { kind: 'owner' } };

test('the token and profile loaders feed the policy store, and authorize decides with them', () => {
  const h = home();
  try {
    const { token, record } = newToken(tokenFilePath(h.dir), { scope: { projects: ['work'], ops: ['get', 'getselected'] }, nowMs: NOW });
    fs.mkdirSync(profilesDir(h.dir), { mode: 0o700 });
    fs.writeFileSync(path.join(profilesDir(h.dir), 'ci.toml'), 'projects = ["work"]\nkeys = ["API_*"]\nreveal = true\npeer = "any"\n');
    const store = PolicyStore.open({ agentUid: UID, loaders: [tokensLoader({ home: h.dir }), profilesLoader({ home: h.dir })] });
    const policy = store.current();
    assert.equal(policy.tokens.length, 1);
    assert.deepEqual([...policy.profiles.keys()], ['ci']);
    const v = verifyToken(token, policy.tokens, NOW);
    assert.ok(v.ok);
    const c = withToken(owner, v.grant);
    assert.equal(authorize(c, { op: 'get', project: 'work', key: 'K', tokenPresented: true }, policy).allow, true);
    assert.equal(authorize(c, { op: 'get', project: 'other', key: 'K', tokenPresented: true }, policy).allow, false);
    const viaProfile: Caller = { ...owner, uid: 4242, listener: { kind: 'profile', name: 'ci' } };
    assert.equal(authorize(viaProfile, { op: 'get', project: 'work', key: 'API_KEY' }, policy).allow, true);
    assert.equal(authorize(viaProfile, { op: 'get', project: 'work', key: 'DB_URL' }, policy).allow, false);
    // Revocation is seen at the next reload.
    revokeToken(tokenFilePath(h.dir), record.id8, NOW);
    assert.equal(store.reload().ok, true);
    assert.deepEqual(verifyToken(token, store.current().tokens, NOW), { ok: false, reason: 'token_revoked', id8: record.id8 });
  } finally {
    h.done();
  }
});

test('a bad token line refuses open naming file:line; a bad reload keeps the old policy', () => {
  const h = home();
  try {
    const file = tokenFilePath(h.dir);
    newToken(file, { scope: {}, nowMs: NOW });
    const good = fs.readFileSync(file, 'utf8');
    const store = PolicyStore.open({ agentUid: UID, loaders: [tokensLoader({ home: h.dir }), profilesLoader({ home: h.dir })] });
    const before = store.current();
    fs.writeFileSync(file, `${good}garbage\n`, { mode: 0o600 });
    const r = store.reload();
    assert.deepEqual(r.ok ? null : [r.file, r.line], [file, 2]);
    assert.equal(store.current(), before, 'the old snapshot is still in force');
    assert.throws(
      () => PolicyStore.open({ agentUid: UID, loaders: [tokensLoader({ home: h.dir })] }),
      (e: unknown) => e instanceof Error && e.message.includes(`${file}:2`),
    );
    fs.writeFileSync(file, good, { mode: 0o600 });
    fs.mkdirSync(profilesDir(h.dir), { mode: 0o700 });
    const prof = path.join(profilesDir(h.dir), 'box.toml');
    fs.writeFileSync(prof, 'projects = ["a"]\nkeys = ["*"]\nnope = 1\n');
    const r2 = store.reload();
    assert.deepEqual(r2.ok ? null : [r2.file, r2.line], [prof, 3]);
    assert.equal(store.current(), before);
  } finally {
    h.done();
  }
});
