// Core-level checks for the data-loss fixes (kept beside their end-to-end tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UnlockedVault } from '../../src/core/vault/vault.js';
import { canonicalJson, nameTable, parseVault } from '../../src/core/vault/format.js';
import { checkProjectDeletable } from '../../src/core/vault/projects.js';
import { SesameError } from '../../src/core/errors.js';
import { ROOT } from '../helpers/cli.js';
import { reveal } from '../helpers/access-reveal.js';

const PASS = Buffer.from('test passphrase');
const CHEAP = { opslimit: 1, memlimit: 8 * 1024 * 1024 };
const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
const PROJECTS = ['constructor', 'toString', 'hasOwnProperty', 'valueOf'];

test('the vault file round-trips keys and projects named like Object.prototype members', () => {
  const v = UnlockedVault.create(PASS, CHEAP);
  for (const p of PROJECTS) v.createProject(p);
  for (const p of ['default', ...PROJECTS]) for (const k of NAMES) assert.equal(v.set(p, k, Buffer.from(`${p}/${k}`)), 'added');
  assert.equal(v.set('default', '__proto__', Buffer.from('again')), 'updated');
  const bytes = Buffer.concat(v.finalize());
  v.dispose();
  const doc = parseVault(bytes);
  assert.equal(Object.getPrototypeOf(doc.projects), null);
  const w = UnlockedVault.unlock(doc, PASS);
  assert.deepEqual(w.projectNames(), ['constructor', 'default', 'hasOwnProperty', 'toString', 'valueOf']);
  for (const p of ['default', ...PROJECTS]) {
    assert.deepEqual(
      w.list(p).map((e) => e.key),
      [...NAMES].sort(),
    );
    for (const k of NAMES) assert.equal(reveal(w, p, k).toString(), p === 'default' && k === '__proto__' ? 'again' : `${p}/${k}`);
  }
  // A write after parsing (JSON.parse made these records) still lands as an own key.
  w.set('default', 'toString', Buffer.from('x'));
  w.rm('default', '__proto__');
  assert.equal(w.has('default', '__proto__'), false);
  const again = parseVault(Buffer.concat(w.finalize()));
  assert.equal(Object.keys(again.projects.default!.entries).includes('__proto__'), false);
  assert.equal(Object.keys(again.projects.default!.entries).includes('toString'), true);
  w.dispose();
});

test('canonicalJson keeps a __proto__ key of a name table', () => {
  const t = nameTable<number>();
  t['__proto__'] = 1;
  t['constructor'] = 2;
  assert.equal(canonicalJson(t), '{"__proto__":1,"constructor":2}');
});

test('a key that does not exist is never found through the prototype', () => {
  const v = UnlockedVault.create(PASS, CHEAP);
  for (const k of NAMES) {
    assert.equal(v.has('default', k), false);
    assert.equal(v.entry('default', k), undefined);
    assert.throws(
      () => reveal(v, 'default', k),
      (e: unknown) => e instanceof SesameError && e.code === 'NOT_FOUND',
    );
  }
  assert.equal(v.hasProject('constructor'), false);
  v.dispose();
});

test('the committed vault-v1 vector still parses and verifies', () => {
  const bytes = fs.readFileSync(path.join(ROOT, 'test', 'vectors', 'vault-v1.json'));
  const v = UnlockedVault.unlock(parseVault(bytes), Buffer.from('vector passphrase: sesame v1'));
  assert.equal(reveal(v, 'default', 'DATABASE_URL').toString(), 'postgres://u:p@db/x');
  v.dispose();
});

test('the default project and the last project cannot be deleted', () => {
  const v = UnlockedVault.create(PASS, CHEAP);
  const usage = (e: unknown): boolean => e instanceof SesameError && e.code === 'USAGE';
  assert.throws(() => {
    v.deleteProject('default');
  }, usage);
  v.createProject('work');
  v.deleteProject('work');
  const only = nameTable<never>();
  (only as Record<string, unknown>).work = { entries: {} };
  assert.throws(() => checkProjectDeletable(only, 'work'), usage);
  assert.throws(
    () => checkProjectDeletable(only, 'gone'),
    (e: unknown) => e instanceof SesameError && e.code === 'NOT_FOUND',
  );
  v.dispose();
});
