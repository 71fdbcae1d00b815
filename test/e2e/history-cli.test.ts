// The promises of "nothing is ever lost by a mistake", through the built CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, makeHome, sesame, setSecret, ROOT, type TestHome } from '../helpers/cli.js';

const get = async (h: TestHome, args: string[]): Promise<string> => {
  const r = await sesame(['get', ...args], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  return r.out.replace(/\n$/, '');
};
const fileVersion = (h: TestHome): number => (JSON.parse(fs.readFileSync(path.join(h.dir, 'vault.json'), 'latin1')) as { version: number }).version;
/** The same home without any passphrase source: a command that reaches an unlock fails LOCKED (3). */
const noPass = (h: TestHome): NodeJS.ProcessEnv => ({ ...h.env, SESAME_PASSPHRASE_FILE: undefined, SESAME_NO_AGENT: '1' });

test('set keeps the previous value: history lists every version with its time and never a value', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  for (const v of ['first-secret', 'second-secret', 'third-secret']) await setSecret(h, 'K', v);
  const r = await sesame(['history', 'K'], { env: noPass(h) }); // names and times need no unlock
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.out, /^v3 .*\(current\)\nv2 .*\nv1 /);
  assert.doesNotMatch(r.out + r.stderr, /secret/);
  const j = JSON.parse((await sesame(['history', 'K', '--json'], { env: h.env })).out) as { versions: Array<{ version: number; updated_at: string; current: boolean }>; removed_at: null };
  assert.deepEqual(
    j.versions.map((v) => v.version),
    [1, 2, 3],
  );
  assert.equal(j.removed_at, null);
  assert.ok(j.versions.every((v) => !Number.isNaN(Date.parse(v.updated_at))));
  assert.equal(await get(h, ['K', '--version', '1']), 'first-secret');
  assert.equal(await get(h, ['K', '--version', '2']), 'second-secret');
  assert.equal(await get(h, ['K']), 'third-secret');
});

test('get --version names a version the history does not keep (exit 4) before asking for any passphrase', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'K', 'v1');
  const r = await sesame(['get', 'K', '--version', '7'], { env: noPass(h) });
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /K in project default has no version 7/);
  assert.match(r.stderr, /sesame history K/);
  const bad = await sesame(['get', 'K', '--version', 'x'], { env: h.env });
  assert.equal(bad.code, 2);
});

test('history = 0 in config.toml keeps no versions and makes rm final; history = 1 keeps exactly one', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  fs.writeFileSync(path.join(h.dir, 'config.toml'), 'history = 1\n', { mode: 0o600 });
  for (const v of ['a', 'b', 'c']) await setSecret(h, 'K', v);
  const j = JSON.parse((await sesame(['history', 'K', '--json'], { env: h.env })).out) as { versions: Array<{ version: number }> };
  assert.deepEqual(
    j.versions.map((v) => v.version),
    [2, 3],
  );
  fs.writeFileSync(path.join(h.dir, 'config.toml'), 'history = 0\n', { mode: 0o600 });
  const rm = await sesame(['rm', 'K'], { env: h.env });
  assert.equal(rm.code, 0, rm.stderr);
  assert.match(rm.stderr, /cannot be restored/);
  assert.equal((await sesame(['restore', 'K'], { env: h.env })).code, 4);
  fs.writeFileSync(path.join(h.dir, 'config.toml'), 'history = -1\n', { mode: 0o600 });
  const bad = await sesame(['set', 'K'], { env: h.env, input: 'x' });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /history must be a whole number/);
});

test('rollback makes the previous value current as a new version, and the replaced value stays in the history', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'K', 'good');
  await setSecret(h, 'K', 'typo');
  const r = await sesame(['rollback', 'K'], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /value of v1 \(as v3\)/);
  assert.equal(await get(h, ['K']), 'good');
  assert.equal(await get(h, ['K', '--version', '2']), 'typo');
  assert.equal((await sesame(['rollback', 'K', '--to', '2'], { env: h.env })).code, 0);
  assert.equal(await get(h, ['K']), 'typo');
  assert.equal((await sesame(['rollback', 'K', '--to', '9'], { env: h.env })).code, 4);
});

test('rm keeps the key recoverable: restore brings it back with its history, purge erases it for good', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'K', 'old');
  await setSecret(h, 'K', 'new');
  assert.equal((await sesame(['rm', 'K'], { env: h.env })).code, 0);
  assert.equal((await sesame(['get', 'K'], { env: h.env })).code, 4, 'a removed key is not readable');
  const l = await sesame(['history'], { env: noPass(h) });
  assert.match(l.out, /^K {2}removed .*\(v2, 2 versions kept\)/);
  assert.equal((await sesame(['purge', 'NOPE'], { env: noPass(h) })).code, 4);
  const res = await sesame(['restore', 'K'], { env: h.env });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(await get(h, ['K']), 'new');
  assert.equal(await get(h, ['K', '--version', '1']), 'old');
  // purge refuses a live key before any passphrase; after rm it erases.
  const live = await sesame(['purge', 'K'], { env: noPass(h) });
  assert.equal(live.code, 2);
  assert.match(live.stderr, /not removed/);
  assert.equal((await sesame(['rm', 'K'], { env: h.env })).code, 0);
  assert.equal((await sesame(['purge', 'K'], { env: h.env })).code, 0);
  assert.equal((await sesame(['restore', 'K'], { env: noPass(h) })).code, 4);
  assert.doesNotMatch(fs.readFileSync(path.join(h.dir, 'vault.json'), 'latin1'), /"K"/, 'nothing of K is left in the file');
});

test('a key set again after rm keeps the removed value in its history', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'K', 'before-rm');
  assert.equal((await sesame(['rm', 'K'], { env: h.env })).code, 0);
  await setSecret(h, 'K', 'after-rm');
  assert.equal(await get(h, ['K', '--version', '1']), 'before-rm');
  assert.equal(await get(h, ['K']), 'after-rm');
});

test('mv renames a key with its history, refuses an existing target (file unchanged) unless --force, which keeps the target versions', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'A', 'a1');
  await setSecret(h, 'A', 'a2');
  await setSecret(h, 'B', 'b1');
  const file = path.join(h.dir, 'vault.json');
  const before = fs.readFileSync(file);
  const refused = await sesame(['mv', 'A', 'B'], { env: noPass(h) });
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /B already exists in project default; nothing was changed/);
  assert.match(refused.stderr, /--force/);
  assert.ok(fs.readFileSync(file).equals(before), 'a refused mv leaves the file byte for byte');
  assert.equal((await sesame(['mv', 'A', 'C'], { env: h.env })).code, 0);
  assert.equal(await get(h, ['C', '--version', '1']), 'a1');
  assert.equal((await sesame(['get', 'A'], { env: h.env })).code, 4);
  assert.equal((await sesame(['rename', 'C', 'B', '--force'], { env: h.env })).code, 0);
  assert.equal(await get(h, ['B']), 'a2');
  const j = JSON.parse((await sesame(['history', 'B', '--json'], { env: h.env })).out) as { versions: unknown[] };
  assert.equal(j.versions.length, 3, 'a1, b1 and a2 are all kept');
});

test('cp copies a key with its history to another project and refuses to overwrite there without --force', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'K', 'k1');
  await setSecret(h, 'K', 'k2');
  assert.equal((await sesame(['projects', 'create', 'work'], { env: h.env })).code, 0);
  assert.equal((await sesame(['cp', 'K', '--to-project', 'work'], { env: h.env })).code, 0);
  assert.equal(await get(h, ['-p', 'work', 'K', '--version', '1']), 'k1');
  assert.equal(await get(h, ['K']), 'k2', 'the source stays');
  assert.equal((await sesame(['cp', 'K', '--to-project', 'work'], { env: noPass(h) })).code, 1);
  assert.equal((await sesame(['cp', 'K', '--to-project', 'work', 'K2'], { env: h.env })).code, 0);
  assert.equal(await get(h, ['-p', 'work', 'K2']), 'k2');
  assert.equal((await sesame(['cp', 'K', '--to-project', 'nope'], { env: noPass(h) })).code, 4);
  assert.equal((await sesame(['cp', 'K'], { env: h.env })).code, 2);
});

test('projects rename moves every key and its history, follows the current project, and refuses default or an existing name', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  assert.equal((await sesame(['projects', 'create', 'web'], { env: h.env })).code, 0);
  assert.equal((await sesame(['projects', 'create', 'other'], { env: h.env })).code, 0);
  assert.equal((await sesame(['projects', 'use', 'web'], { env: h.env })).code, 0);
  await setSecret(h, 'K', 'w1');
  await setSecret(h, 'K', 'w2');
  assert.equal((await sesame(['rm', 'K'], { env: h.env })).code, 0);
  await setSecret(h, 'L', 'l1');
  assert.equal((await sesame(['projects', 'rename', 'web', 'other'], { env: noPass(h) })).code, 1);
  assert.equal((await sesame(['projects', 'rename', 'default', 'x'], { env: noPass(h) })).code, 2);
  const r = await sesame(['projects', 'rename', 'web', 'site'], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await get(h, ['L']), 'l1', 'the current project followed the rename');
  assert.equal((await sesame(['restore', 'K'], { env: h.env })).code, 0);
  assert.equal(await get(h, ['-p', 'site', 'K', '--version', '1']), 'w1');
  const list = await sesame(['projects', 'list'], { env: h.env });
  assert.doesNotMatch(list.out, /\bweb\b/);
});

test('a version-1 vault opens and reads through the CLI, and after one write it is version 2 with its history', async (t) => {
  const h = makeHome();
  t.after(() => {
    h.cleanup();
  });
  fs.mkdirSync(h.dir, { mode: 0o700 });
  fs.copyFileSync(path.join(ROOT, 'test', 'vectors', 'vault-v1.json'), path.join(h.dir, 'vault.json'));
  fs.chmodSync(path.join(h.dir, 'vault.json'), 0o600);
  fs.writeFileSync(h.passFile, 'vector passphrase: sesame v1\n', { mode: 0o600 });
  assert.equal(await get(h, ['DATABASE_URL']), 'postgres://u:p@db/x');
  assert.equal(fileVersion(h), 1, 'a read does not rewrite the file');
  await setSecret(h, 'DATABASE_URL', 'postgres://new');
  assert.equal(fileVersion(h), 2);
  assert.equal(await get(h, ['DATABASE_URL', '--version', '1']), 'postgres://u:p@db/x');
  assert.equal(await get(h, ['-p', 'work', 'API_TOKEN']), 'w');
});

test('a history entry swapped on disk is refused as damage, and its value is never printed', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'K', 'one');
  await setSecret(h, 'K', 'two');
  await setSecret(h, 'K', 'three');
  const file = path.join(h.dir, 'vault.json');
  const text = fs.readFileSync(file, 'latin1');
  const o = JSON.parse(text) as { projects: { default: { entries: { K: { history: Array<{ ct: string; nonce: string }> } } } } };
  const [a, b] = o.projects.default.entries.K.history;
  const swapped = text.replace(a!.ct, 'X').replace(b!.ct, a!.ct).replace('X', b!.ct).replace(a!.nonce, 'Y').replace(b!.nonce, a!.nonce).replace('Y', b!.nonce);
  fs.writeFileSync(file, swapped, { encoding: 'latin1', mode: 0o600 });
  const r = await sesame(['get', 'K', '--version', '1'], { env: h.env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /integrity check failed/);
  assert.equal(r.out, '');
});
