import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { parseVault, VERSION } from '../../src/core/vault/format.js';
import { UnlockedVault } from '../../src/core/vault/vault.js';
import { SesameError } from '../../src/core/errors.js';
import { directContext, readVersion, vaultSource } from '../../src/core/access.js';
import { reveal } from '../helpers/access-reveal.js';
import { historyOf, removedKeys } from '../../src/core/vault/history.js';

const V2 = path.join(ROOT, 'test', 'vectors', 'vault-v2.json');
const V1 = path.join(ROOT, 'test', 'vectors', 'vault-v1.json');
const PASS2 = Buffer.from('vector passphrase: sesame v2');
const PASS1 = Buffer.from('vector passphrase: sesame v1');
const CHEAP = { opslimit: 1, memlimit: 8 * 1024 * 1024 };
const isCode = (code: string) => (e: unknown) => e instanceof SesameError && e.code === code;
const at = (v: UnlockedVault, p: string, k: string, n: number) => readVersion(directContext(), vaultSource(v), p, k, n).then((b) => b.toString());

test('the committed version-2 vault vector opens with its passphrase and holds its values, history and removed key', async () => {
  const doc = parseVault(fs.readFileSync(V2));
  assert.equal(doc.version, 2);
  const v = UnlockedVault.unlock(doc, PASS2);
  assert.equal(reveal(v, 'default', 'ROTATED').toString(), 'three');
  assert.equal(await at(v, 'default', 'ROTATED', 1), 'one');
  assert.equal(await at(v, 'default', 'ROTATED', 2), 'two');
  assert.equal(await at(v, 'default', 'ROTATED', 3), 'three');
  assert.deepEqual(
    historyOf(doc, 'default', 'ROTATED').versions.map((x) => [x.version, x.high_value, x.current]),
    [
      [1, false, false],
      [2, false, false],
      [3, true, true],
    ],
  );
  assert.deepEqual(
    removedKeys(doc, 'default').map((r) => r.key),
    ['OLD'],
  );
  assert.equal(v.has('default', 'OLD'), false, 'a removed key is not a live key');
  v.restore('default', 'OLD');
  assert.equal(reveal(v, 'default', 'OLD').toString(), 'gone');
  assert.equal(reveal(v, 'work', 'API_TOKEN').toString(), 'w');
  v.dispose();
});

test('a version-1 vault opens and reads as it is, and its first write makes it version 2 with history', () => {
  const doc = parseVault(fs.readFileSync(V1));
  assert.equal(doc.version, 1);
  const v = UnlockedVault.unlock(doc, PASS1);
  assert.equal(reveal(v, 'default', 'DATABASE_URL').toString(), 'postgres://u:p@db/x');
  v.set('default', 'DATABASE_URL', Buffer.from('postgres://new'));
  const bytes = Buffer.concat(v.finalize());
  v.dispose();
  const again = parseVault(bytes);
  assert.equal(again.version, VERSION);
  const w = UnlockedVault.unlock(again, PASS1);
  assert.deepEqual(
    historyOf(again, 'default', 'DATABASE_URL').versions.map((x) => x.version),
    [1, 2],
  );
  assert.equal(reveal(w, 'default', 'TRICKY').toString(), `it's "quoted" $(not run)\nline2`);
  w.dispose();
});

test('a history entry swapped with another is detected: the file MAC on disk, the AD binding each version in memory', async () => {
  const text = fs.readFileSync(V2, 'latin1');
  const doc = JSON.parse(text) as { projects: { default: { entries: { ROTATED: { history: Array<{ nonce: string; ct: string }> } } } } };
  const h = doc.projects.default.entries.ROTATED.history;
  const [a, b] = [h[0]!, h[1]!];
  let swapped = text.replace(a.ct, '\u0000A').replace(b.ct, a.ct).replace('\u0000A', b.ct);
  swapped = swapped.replace(a.nonce, '\u0000N').replace(b.nonce, a.nonce).replace('\u0000N', b.nonce);
  assert.notEqual(swapped, text);
  const onDisk = parseVault(Buffer.from(swapped, 'latin1'));
  assert.throws(() => UnlockedVault.unlock(onDisk, PASS2), isCode('INTEGRITY'));
  // Even past the MAC (a document changed in memory after it verified), version 1's value
  // under version 2's number does not decrypt: the history AD binds the version.
  const good = parseVault(fs.readFileSync(V2));
  const v = UnlockedVault.unlock(good, PASS2);
  const hist = good.projects.default!.entries.ROTATED!.history!;
  [hist[0]!.ct, hist[1]!.ct, hist[0]!.nonce, hist[1]!.nonce] = [hist[1]!.ct, hist[0]!.ct, hist[1]!.nonce, hist[0]!.nonce];
  await assert.rejects(at(v, 'default', 'ROTATED', 1), isCode('INTEGRITY'));
  v.dispose();
});

test('a history entry moved to another key does not decrypt there (the AD binds the key name)', async () => {
  const v = UnlockedVault.create(Buffer.from('p'), CHEAP);
  v.set('default', 'A', Buffer.from('a1'));
  v.set('default', 'A', Buffer.from('a2'));
  v.set('default', 'B', Buffer.from('b1'));
  v.set('default', 'B', Buffer.from('b2'));
  const p = v.doc.projects.default!;
  p.entries.B!.history = [p.entries.A!.history![0]!];
  await assert.rejects(at(v, 'default', 'B', 1), isCode('INTEGRITY'));
  v.dispose();
});

test('the history keeps the newest N versions; history 0 keeps none and makes rm final', () => {
  const v = UnlockedVault.create(Buffer.from('p'), CHEAP);
  v.historyLimit = 2;
  for (const x of ['1', '2', '3', '4', '5']) v.set('default', 'K', Buffer.from(x));
  assert.deepEqual(
    historyOf(v.doc, 'default', 'K').versions.map((x) => x.version),
    [3, 4, 5],
  );
  v.historyLimit = 0;
  v.set('default', 'K', Buffer.from('6'));
  assert.deepEqual(
    historyOf(v.doc, 'default', 'K').versions.map((x) => x.version),
    [6],
  );
  assert.equal(v.rm('default', 'K'), 'deleted');
  assert.throws(() => historyOf(v.doc, 'default', 'K'), isCode('NOT_FOUND'));
  v.dispose();
});

test('the parser refuses malformed history: out-of-order versions, unknown fields, a name both live and removed, removed in a version-1 file', () => {
  const text = fs.readFileSync(V2, 'latin1');
  type Doc = { version: number; projects: { default: { entries: Record<string, { history: Array<Record<string, unknown>> }>; removed: Record<string, { history: Array<Record<string, unknown>> }> } } };
  const bad = (f: (o: Doc) => void): Buffer => {
    const o = JSON.parse(text) as Doc;
    f(o);
    return Buffer.from(JSON.stringify(o).replace(/,"mac":"[^"]*"}$/, ',"mac":"' + 'A'.repeat(43) + '="}') + '\n');
  };
  assert.throws(() => parseVault(bad((o) => o.projects.default.entries.ROTATED!.history.reverse())), isCode('INTEGRITY'));
  assert.throws(() => parseVault(bad((o) => (o.projects.default.entries.ROTATED!.history[0]!.extra = 1))), isCode('INTEGRITY'));
  assert.throws(() => parseVault(bad((o) => (o.projects.default.entries.OLD = o.projects.default.removed.OLD!))), isCode('INTEGRITY'));
  assert.throws(() => parseVault(bad((o) => (o.version = 1))), isCode('INTEGRITY'));
  assert.throws(() => parseVault(bad((o) => (o.version = 3))), isCode('INTEGRITY'));
  // control: the untouched document parses
  assert.equal(parseVault(bad((o) => o)).version, 2);
});

test('mv and cp carry every version, re-sealed for the new name; --force merges the target versions into the history', async () => {
  const v = UnlockedVault.create(Buffer.from('p'), CHEAP);
  v.createProject('work');
  v.set('default', 'A', Buffer.from('a1'));
  v.set('default', 'A', Buffer.from('a2'));
  v.set('default', 'B', Buffer.from('b1'));
  assert.throws(() => v.transfer('default', 'A', 'default', 'B', { move: true }), isCode('INVALID'));
  assert.equal(v.transfer('default', 'A', 'default', 'C', { move: true }), 'created');
  assert.equal(v.has('default', 'A'), false);
  assert.equal(await at(v, 'default', 'C', 1), 'a1');
  assert.equal(v.transfer('default', 'C', 'work', 'C', { move: false }), 'created');
  assert.equal(await at(v, 'work', 'C', 1), 'a1');
  assert.equal(v.transfer('default', 'C', 'default', 'B', { move: true, force: true }), 'replaced');
  assert.deepEqual(
    historyOf(v.doc, 'default', 'B').versions.map((x) => x.version),
    [1, 2, 3],
  );
  assert.equal(reveal(v, 'default', 'B').toString(), 'a2');
  const olds = [await at(v, 'default', 'B', 1), await at(v, 'default', 'B', 2)].sort();
  assert.deepEqual(olds, ['a1', 'b1']);
  v.renameProject('work', 'job');
  assert.equal(await at(v, 'job', 'C', 1), 'a1');
  assert.throws(() => {
    v.renameProject('default', 'x');
  }, isCode('USAGE'));
  const w = UnlockedVault.unlock(parseVault(Buffer.concat(v.finalize())), Buffer.from('p'));
  assert.equal(reveal(w, 'job', 'C').toString(), 'a2');
  w.dispose();
  v.dispose();
});
