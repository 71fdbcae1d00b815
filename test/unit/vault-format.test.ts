import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnlockedVault, slotSum } from '../../src/core/vault/vault.js';
import { parseVault, serializeVault, type VaultDoc } from '../../src/core/vault/format.js';
import { SesameError } from '../../src/core/errors.js';
import { reveal } from '../helpers/access-reveal.js';

const PASS = Buffer.from('test passphrase');
const CHEAP = { opslimit: 1, memlimit: 8 * 1024 * 1024 };

function fresh(): { v: UnlockedVault; bytes: Buffer } {
  const v = UnlockedVault.create(PASS, CHEAP);
  v.set('default', 'API_KEY', Buffer.from('s3cr3t value'));
  v.set('default', 'OTHER', Buffer.from('another'));
  v.createProject('work');
  v.set('work', 'API_KEY', Buffer.from('work value'), { highValue: true });
  return { v, bytes: Buffer.concat(v.finalize()) };
}

/** Re-serialises a modified document keeping its old MAC, as someone without the key must. */
function forge(d: VaultDoc): Buffer {
  const old = d.mac;
  return Buffer.concat(serializeVault(d, () => old));
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof SesameError) return e.code;
    throw e;
  }
  return 'OK';
}

test('a vault round-trips through its file format', () => {
  const { v, bytes } = fresh();
  v.dispose();
  const back = UnlockedVault.unlock(parseVault(bytes), PASS);
  assert.equal(reveal(back, 'default', 'API_KEY').toString(), 's3cr3t value');
  assert.equal(reveal(back, 'work', 'API_KEY').toString(), 'work value');
  assert.deepEqual(back.projectNames(), ['default', 'work']);
  assert.equal(back.entry('work', 'API_KEY')?.high_value, true);
  assert.equal(back.entry('default', 'API_KEY')?.version, 1);
  back.dispose();
});

test('the file holds no plaintext value and no key', () => {
  const { v, bytes } = fresh();
  v.dispose();
  const text = bytes.toString();
  for (const s of ['s3cr3t value', 'another', 'work value', 'test passphrase']) assert.ok(!text.includes(s));
});

test('a ciphertext moved to another entry fails to open, even with the file MAC recomputed', () => {
  const { v } = fresh();
  const d = v.doc;
  const a = d.projects.default!.entries.API_KEY!;
  const b = d.projects.default!.entries.OTHER!;
  [a.ct, b.ct, a.nonce, b.nonce] = [b.ct, a.ct, b.nonce, a.nonce];
  assert.equal(
    code(() => reveal(v, 'default', 'API_KEY')),
    'INTEGRITY',
  );
  // across projects: the same key name in another project
  const w = d.projects.work!.entries.API_KEY!;
  [w.ct, w.nonce] = [b.ct, b.nonce];
  assert.equal(
    code(() => reveal(v, 'work', 'API_KEY')),
    'INTEGRITY',
  );
  v.dispose();
});

test('a swapped ciphertext on disk fails the file MAC as an integrity error', () => {
  const { v, bytes } = fresh();
  v.dispose();
  const d = JSON.parse(bytes.toString()) as VaultDoc;
  const a = d.projects.default!.entries.API_KEY!;
  const b = d.projects.default!.entries.OTHER!;
  [a.ct, b.ct] = [b.ct, a.ct];
  assert.throws(() => UnlockedVault.unlock(parseVault(forge(d)), PASS), /MAC does not verify/);
});

test('a wrong passphrase is told apart from damage', () => {
  const { v, bytes } = fresh();
  v.dispose();
  assert.equal(
    code(() => UnlockedVault.unlock(parseVault(bytes), Buffer.from('nope'))),
    'WRONG_PASSPHRASE',
  );
});

test('a flipped byte anywhere fails as integrity, never as a wrong passphrase or a changed value', () => {
  const { v, bytes } = fresh();
  v.dispose();
  let opened = 0;
  let integrity = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = Buffer.from(bytes);
    b[i] = b[i]! ^ 0x01;
    let c: string;
    try {
      const u = UnlockedVault.unlock(parseVault(b), PASS);
      // Only a change that is not content (JSON white space) may open, and then identically.
      assert.equal(reveal(u, 'default', 'API_KEY').toString(), 's3cr3t value');
      assert.equal(reveal(u, 'work', 'API_KEY').toString(), 'work value');
      u.dispose();
      c = 'OK';
      opened++;
    } catch (e) {
      assert.ok(e instanceof SesameError, `byte ${i}: ${String(e)}`);
      c = e.code;
    }
    assert.ok(c === 'OK' || c === 'INTEGRITY', `byte ${i} (${JSON.stringify(bytes.toString('latin1', Math.max(0, i - 10), i + 10))}) gave ${c}`);
    if (c === 'INTEGRITY') integrity++;
  }
  assert.ok(integrity > bytes.length * 0.8, `most flips must be detected (${integrity}/${bytes.length}, ${opened} opened)`);
});

function withKdf(bytes: Buffer, kdf: { opslimit?: number; memlimit?: number }): Buffer {
  const d = JSON.parse(bytes.toString()) as VaultDoc;
  const slot = d.keyslots[0]!;
  Object.assign(slot.kdf, kdf);
  const { sum: _s, ...rest } = slot;
  slot.sum = slotSum(d.vault_id, rest); // a hostile file would recompute the unkeyed checksum
  return forge(d);
}

test('refuses Argon2id parameters above the memory cap, below the floor, or with absurd pass counts', () => {
  const { v, bytes } = fresh();
  v.dispose();
  for (const kdf of [{ memlimit: 2 * 1024 * 1024 * 1024 }, { memlimit: 1024 * 1024 }, { opslimit: 0 }, { opslimit: 1000 }, { memlimit: 1.5 }]) {
    const t0 = Date.now();
    let err: unknown;
    try {
      UnlockedVault.unlock(parseVault(withKdf(bytes, kdf)), PASS);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof SesameError && err.code === 'INTEGRITY', `${JSON.stringify(kdf)} must be refused`);
    assert.match(err.message, /refusing Argon2id|damaged/);
    assert.ok(Date.now() - t0 < 500, 'refused before deriving');
  }
});

test('rejects unknown fields and unsupported versions', () => {
  const { v, bytes } = fresh();
  v.dispose();
  const d = JSON.parse(bytes.toString());
  assert.throws(() => parseVault(forge({ ...d, extra: 1 })), /unknown field "extra"/);
  assert.throws(() => parseVault(forge({ ...d, version: 3 })), /unsupported vault format version 3/);
  assert.throws(() => parseVault(Buffer.from(JSON.stringify(d))), /does not end with its MAC/);
  assert.throws(() => parseVault(Buffer.from('{"format":"x"')), /not valid JSON/);
});

test('a passphrase change re-wraps the master key only: values are untouched', () => {
  const { v } = fresh();
  const before = JSON.stringify(v.doc.projects);
  v.changePassphrase(Buffer.from('new one'));
  assert.equal(JSON.stringify(v.doc.projects), before);
  const bytes = Buffer.concat(v.finalize());
  v.dispose();
  assert.equal(
    code(() => UnlockedVault.unlock(parseVault(bytes), PASS)),
    'WRONG_PASSPHRASE',
  );
  const n = UnlockedVault.unlock(parseVault(bytes), Buffer.from('new one'));
  assert.equal(reveal(n, 'default', 'API_KEY').toString(), 's3cr3t value');
  n.dispose();
});

test('a vault opened with another master key reports a key change, not damage', () => {
  const a = fresh();
  const b = fresh();
  const docB = parseVault(b.bytes);
  const other = UnlockedVault.unlock(parseVault(a.bytes), PASS);
  // withMaster takes ownership of the key it is given
  const stolen = (other.master.constructor as typeof import('../../src/core/crypto/sodium.js').SecureKey).random();
  assert.equal(
    code(() => UnlockedVault.withMaster(docB, stolen)),
    'KEY_CHANGED',
  );
  other.dispose();
  a.v.dispose();
  b.v.dispose();
});

test('a byte outside ASCII anywhere in the file is reported as damage', () => {
  const { v, bytes } = fresh();
  v.dispose();
  for (const i of [5, Math.floor(bytes.length / 2), bytes.length - 10]) {
    const b = Buffer.from(bytes);
    b[i] = 0xc3;
    assert.equal(
      code(() => parseVault(b)),
      'INTEGRITY',
    );
  }
});
