import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PASSPHRASE, initHome, requireTool, sesame, setSecret } from '../helpers/cli.js';
import { startAgent, stopAgent } from '../helpers/agent.js';

const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
const PROJECTS = ['constructor', 'toString', 'hasOwnProperty'];

test('set, get, list and rm keep keys named like Object.prototype members (never a lost write)', async () => {
  const h = await initHome();
  for (const k of NAMES) {
    const r = await sesame(['set', k], { env: h.env, input: `v-${k}` });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`added ${k.replace(/\$/g, '\\$')}`));
  }
  const again = await sesame(['set', '__proto__'], { env: h.env, input: 'v2' });
  assert.match(again.stderr, /updated __proto__/, 'the second write is an update: the first one happened');
  const list = await sesame(['list', '--json'], { env: h.env });
  assert.deepEqual((JSON.parse(list.out) as { keys: Array<{ key: string }> }).keys.map((k) => k.key).sort(), [...NAMES].sort());
  for (const k of NAMES.slice(1)) assert.equal((await sesame(['get', k, '--no-agent'], { env: h.env })).out, `v-${k}\n`);
  assert.equal((await sesame(['get', '__proto__', '--no-agent'], { env: h.env })).out, 'v2\n');
  await startAgent(h);
  try {
    for (const k of NAMES.slice(1)) assert.equal((await sesame(['get', k], { env: h.env })).out, `v-${k}\n`, `${k} through the agent`);
    const env = await sesame(['env', '--format', 'json'], { env: h.env });
    assert.equal(env.code, 0, env.stderr);
    assert.deepEqual(Object.keys(JSON.parse(env.out) as object).sort(), [...NAMES].sort());
  } finally {
    await stopAgent(h);
  }
  for (const k of NAMES) assert.equal((await sesame(['rm', k], { env: h.env })).code, 0);
  assert.equal((await sesame(['list'], { env: h.env })).out, '');
  assert.equal((await sesame(['get', 'constructor', '--no-agent'], { env: h.env })).code, 4, 'nothing inherited is found');
  h.cleanup();
});

test('projects named like Object.prototype members are created, listed, used and deleted', async () => {
  const h = await initHome();
  for (const p of PROJECTS) {
    assert.equal((await sesame(['projects', 'create', p], { env: h.env })).code, 0);
    await setSecret(h, 'K', `in-${p}`, ['-p', p]);
  }
  const list = JSON.parse((await sesame(['projects', 'list', '--json'], { env: h.env })).out) as { projects: Array<{ name: string; keys: number }> };
  assert.deepEqual(
    list.projects.map((p) => `${p.name}:${p.keys}`),
    ['constructor:1', 'default:0', 'hasOwnProperty:1', 'toString:1'],
  );
  for (const p of PROJECTS) assert.equal((await sesame(['get', 'K', '-p', p, '--no-agent'], { env: h.env })).out, `in-${p}\n`);
  assert.equal((await sesame(['projects', 'delete', 'toString', '--yes'], { env: h.env })).code, 0);
  assert.equal((await sesame(['get', 'K', '-p', 'toString', '--no-agent'], { env: h.env })).code, 4);
  h.cleanup();
});

test('set refuses an empty value from stdin or a newline and keeps the old one', async () => {
  const h = await initHome();
  await setSecret(h, 'K', 'old');
  for (const input of ['', '\n', '\r\n']) {
    const r = await sesame(['set', 'K'], { env: h.env, input });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /empty; nothing was stored/);
    assert.match(r.stderr, /--allow-empty/);
  }
  assert.equal((await sesame(['get', 'K', '--no-agent'], { env: h.env })).out, 'old\n');
  const ok = await sesame(['set', 'K', '--allow-empty'], { env: h.env, input: '' });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((await sesame(['get', 'K', '--no-agent'], { env: h.env })).out, '\n');
  h.cleanup();
});

test('projects delete refuses the default project and keeps the vault usable', async () => {
  const h = await initHome();
  await setSecret(h, 'K', 'v');
  const r = await sesame(['projects', 'delete', 'default', '--yes'], { env: h.env });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /default cannot be deleted/);
  assert.match(r.stderr, /hint:/);
  assert.match((await sesame(['projects', 'list'], { env: h.env })).out, /default/);
  assert.equal((await sesame(['get', 'K', '--no-agent'], { env: h.env })).out, 'v\n');
  h.cleanup();
});

test('a passphrase file that is a FIFO, a device, a symlink to one or a directory is refused at once', async (t) => {
  if (!requireTool(t, 'mkfifo', 'coreutils')) return;
  const h = await initHome();
  const base = path.dirname(h.passFile);
  const fifo = path.join(base, 'fifo');
  spawnSync('mkfifo', ['-m', '600', fifo]);
  fs.symlinkSync('/dev/zero', path.join(base, 'zero-link'));
  fs.mkdirSync(path.join(base, 'dir'), { mode: 0o700 });
  for (const p of [fifo, '/dev/zero', path.join(base, 'zero-link'), path.join(base, 'dir')]) {
    const r = await sesame(['set', 'K'], { env: { ...h.env, SESAME_PASSPHRASE_FILE: p }, input: 'v', timeoutMs: 20_000 });
    assert.equal(r.signal, null, `${p}: the CLI neither hangs nor aborts`);
    assert.notEqual(r.code, 0, p);
    assert.match(r.stderr, /not a regular file|symlink|unusable|passphrase file/, `${p}: ${r.stderr}`);
  }
  h.cleanup();
});

test('a vault left without projects by an older sesame says so and can be repaired', async () => {
  const h = await initHome();
  const { homePaths } = await import('../../src/core/paths.js');
  const { unlockVault } = await import('../../src/core/vault/store.js');
  const { writeFileAtomic } = await import('../../src/core/fs/secure.js');
  const paths = homePaths(h.dir);
  const v = unlockVault(paths, Buffer.from(PASSPHRASE));
  delete v.doc.projects.default; // what `projects delete default` did before
  writeFileAtomic(paths.vault, v.finalize());
  v.dispose();
  const r = await sesame(['projects', 'list'], { env: h.env });
  assert.equal(r.code, 0);
  assert.match(r.stderr, /no projects.*projects create default/);
  assert.equal((await sesame(['projects', 'create', 'default'], { env: h.env })).code, 0);
  await setSecret(h, 'K', 'v');
  assert.equal((await sesame(['get', 'K', '--no-agent'], { env: h.env })).out, 'v\n');
  h.cleanup();
});
