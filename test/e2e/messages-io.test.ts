/**
 * Real file-system failures through the built CLI: a full file system, a read-only one, a
 * symlink loop, a directory the user may not write. Each is exit 1 with a message that
 * names the situation and the path, a hint that says what to do, and never "this is a bug
 * in sesame". Mounting needs root: elsewhere these skip with the reason, in CI they fail.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BIN, initHome, makeHome, runProcess, sesame, setSecret, type Result, type TestHome } from '../helpers/cli.js';
import { chownTree, sesameAs } from '../helpers/agent.js';

const NOBODY = 65534;

/** true when the test may go on as root; skips (or fails in CI) otherwise. */
function needRoot(t: TestContext, what: string): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env.CI === 'true') assert.fail(`${what} needs root, and CI must run it`);
  t.skip(`${what} needs root`);
  return false;
}

function mountTmpfs(t: TestContext, dir: string, size: string): boolean {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=700`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status === 0) return true;
  if (process.env.CI === 'true') assert.fail(`mount tmpfs failed: ${r.stderr}`);
  t.skip(`cannot mount a tmpfs here (${r.stderr.trim()})`);
  return false;
}

function umount(dir: string): void {
  spawnSync('umount', ['-l', dir]);
}

/** A home on a fresh tmpfs of `size`, init'ed; null when skipped. */
async function homeOnTmpfs(t: TestContext, size: string): Promise<{ h: TestHome; mnt: string } | null> {
  if (!needRoot(t, 'mounting a tmpfs')) return null;
  const h = makeHome();
  const mnt = path.join(path.dirname(h.dir), 'mnt');
  fs.mkdirSync(mnt, { mode: 0o700 });
  if (!mountTmpfs(t, mnt, size)) {
    h.cleanup();
    return null;
  }
  h.env.SESAME_HOME = h.dir = path.join(mnt, 'home');
  const r = await sesame(['init', '--kdf-memory', '8', '--kdf-passes', '1'], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  return { h, mnt };
}

function assertPlainFailure(r: Result, message: RegExp, hint: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /bug in sesame|internal error/);
  assert.match(r.stderr, message);
  const hintLine = r.stderr.split('\n').find((l) => l.startsWith('hint: '));
  assert.ok(hintLine, `a hint: ${r.stderr}`);
  assert.match(hintLine, hint);
}

test('a full file system is reported as such with what to do, and the vault keeps its old contents', async (t) => {
  const m = await homeOnTmpfs(t, '64k');
  if (!m) return;
  try {
    await setSecret(m.h, 'KEEP', 'kept');
    const big = Buffer.alloc(96 * 1024, 'A').toString();
    const r = await sesame(['set', 'BIG', '--raw'], { env: m.h.env, input: big });
    assertPlainFailure(r, /cannot write .*vault\.json: no space left on the device \(ENOSPC\); it was not changed/, /free some space .*df -h/);
    assert.ok(!r.stderr.includes('AAAA'), 'no part of the value');
    const get = await sesame(['get', 'KEEP'], { env: m.h.env });
    assert.equal(get.out, 'kept\n');
    const json = await sesame(['set', 'BIG', '--raw', '--json'], { env: m.h.env, input: big });
    const o = JSON.parse(json.out) as { errno: string; op: string; path: string; hint: string };
    assert.deepEqual([o.errno, o.op, o.path], ['ENOSPC', 'write', path.join(m.h.dir, 'vault.json')]);
    assert.match(o.hint, /free some space/);
  } finally {
    umount(m.mnt);
    m.h.cleanup();
  }
});

test('a read-only file system is reported as such with what to do, and reads still work', async (t) => {
  const m = await homeOnTmpfs(t, '1m');
  if (!m) return;
  try {
    await setSecret(m.h, 'KEEP', 'kept');
    const ro = spawnSync('mount', ['-o', 'remount,ro', m.mnt], { encoding: 'utf8' });
    assert.equal(ro.status, 0, ro.stderr);
    const r = await sesame(['set', 'KEEP', '--raw'], { env: m.h.env, input: 'new' });
    assertPlainFailure(r, /read-only \(EROFS\)/, /read-only: remount it read-write, or use a --home \(SESAME_HOME\) on a writable file system/);
    assert.match(r.stderr, new RegExp(m.h.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const get = await sesame(['get', 'KEEP'], { env: m.h.env });
    assert.equal(get.out, 'kept\n', get.stderr);
  } finally {
    umount(m.mnt);
    m.h.cleanup();
  }
});

test('a symlink loop as the home or the vault path is named as a loop, with what to do', async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-loop-'));
  try {
    fs.symlinkSync(path.join(base, 'b'), path.join(base, 'a'));
    fs.symlinkSync(path.join(base, 'a'), path.join(base, 'b'));
    for (const home of [path.join(base, 'a'), path.join(base, 'a', 'home')]) {
      const env = { PATH: process.env.PATH, HOME: base, SESAME_HOME: home, SESAME_PASSPHRASE_FILE: '/nonexistent' };
      for (const args of [['list'], ['init']]) {
        const r = await sesame(args, { env });
        assertPlainFailure(r, /symlink loop/, /points back at itself/);
        assert.match(r.stderr, new RegExp(path.join(base, 'a')));
      }
      const get = await sesame(['get', 'K'], { env }); // the fast path reads through another door
      assert.equal(get.code, 1, get.stderr);
      assert.match(get.stderr, /symlink loop/);
      assert.match(get.stderr, /hint: .*points back at itself/);
      assert.doesNotMatch(get.stderr, /bug in sesame|is a symlink; refusing/);
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('a home the user may not write is reported as permission denied with what to do (not as a bug)', async (t) => {
  if (!needRoot(t, 'running the CLI as nobody')) return;
  const h = await initHome();
  try {
    await setSecret(h, 'KEEP', 'kept');
    chownTree(path.dirname(h.dir), NOBODY, NOBODY);
    fs.chmodSync(h.dir, 0o500); // root ignores this; nobody does not
    const r = await sesameAs(NOBODY, NOBODY, ['rm', 'KEEP', '--json'], h.env);
    assert.equal(r.code, 1, r.stderr);
    const o = JSON.parse(r.out) as { message: string; errno: string; hint: string };
    assert.ok(['EACCES', 'EPERM'].includes(o.errno), r.out);
    assert.match(o.message, /permission denied|not permitted/);
    assert.match(o.hint, /permissions of/);
    assert.doesNotMatch(r.out + r.stderr, /bug in sesame/);
  } finally {
    fs.chmodSync(h.dir, 0o700);
    h.cleanup();
  }
});

test('running out of file descriptors is reported as EMFILE with what to do (not as a bug)', async (t) => {
  if (spawnSync('prlimit', ['--version']).status !== 0) {
    if (process.env.CI === 'true') assert.fail('prlimit (util-linux) is needed in CI');
    t.skip('needs prlimit (util-linux)');
    return;
  }
  const h = await initHome();
  try {
    // The exact count Node needs to start varies: try a few low limits; every failure that
    // sesame reports must be the plain EMFILE message, and at least one must be.
    let seen = 0;
    for (const n of [20, 22, 24, 28, 32]) {
      const r = await runProcess('prlimit', [`--nofile=${n}`, process.execPath, BIN, 'set', 'K', '--raw'], { env: h.env, input: 'v' });
      if (r.code === 0 || !r.stderr.startsWith('error: ')) continue;
      assertPlainFailure(r, /too many open files \(EMFILE\)/, /ulimit -n/);
      seen++;
    }
    assert.ok(seen > 0, 'no limit produced EMFILE in sesame');
  } finally {
    h.cleanup();
  }
});
