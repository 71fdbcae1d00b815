import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, initHome, sesame, PASSPHRASE } from '../helpers/cli.js';
import { homePaths } from '../../src/core/paths.js';
import { unlockVault } from '../../src/core/vault/store.js';
import { acquireLock } from '../../src/core/fs/lock.js';
import { reveal } from '../helpers/access-reveal.js';

const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'writer.js');

function readCounter(home: string): number {
  const v = unlockVault(homePaths(home), Buffer.from(PASSPHRASE));
  try {
    return v.has('default', 'COUNTER') ? Number(reveal(v, 'default', 'COUNTER').toString()) : 0;
  } finally {
    v.dispose();
  }
}

test('20 parallel `set` of distinct keys all land', async () => {
  const h = await initHome();
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => sesame(['set', `KEY_${i}`], { env: h.env, input: `value-${i}` })));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const v = unlockVault(homePaths(h.dir), Buffer.from(PASSPHRASE));
  for (let i = 0; i < 20; i++) assert.equal(reveal(v, 'default', `KEY_${i}`).toString(), `value-${i}`);
  v.dispose();
  h.cleanup();
});

test('100 kill -9 of a writer at random moments never leave an unreadable vault or lose a committed write', async () => {
  const h = await initHome();
  let last = 0;
  for (let round = 0; round < 100; round++) {
    const child = spawn(process.execPath, [WRITER, h.dir, PASSPHRASE], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => {
        resolve();
      });
      child.once('exit', (c) => {
        reject(new Error(`writer exited early (${c})`));
      });
    });
    const exited = new Promise((r) => child.once('exit', r));
    await new Promise((r) => setTimeout(r, Math.random() * 40));
    child.kill('SIGKILL');
    await exited;
    const n = readCounter(h.dir); // throws if the vault is unreadable
    assert.ok(n > last, `round ${round}: counter ${n} must pass ${last} (the writer had committed at least once)`);
    last = n;
  }
  // the lock was released by the kernel on every death; no temp file outlives the next writer
  const r = await sesame(['set', 'AFTER'], { env: h.env, input: 'x' });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    fs.readdirSync(h.dir).filter((f) => f.includes('.tmp-')),
    [],
  );
  h.cleanup();
});

test('kill -9 of the CLI during `set` never leaves an unreadable vault', async () => {
  const h = await initHome();
  for (let i = 0; i < 20; i++) {
    const child = spawn(process.execPath, [BIN, 'set', `K${i}`], { env: h.env, stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin.on('error', () => {});
    child.stdin.end('v'.repeat(100_000));
    await new Promise((r) => setTimeout(r, 40 + Math.random() * 160));
    child.kill('SIGKILL');
    await exited;
    readCounter(h.dir);
  }
  const r = await sesame(['list', '--json'], { env: h.env });
  assert.equal(r.code, 0);
  h.cleanup();
});

test('a writer that cannot get the lock in time exits 7 naming the holder', async () => {
  const h = await initHome();
  const lock = acquireLock(homePaths(h.dir).vaultLock, { timeoutMs: 1000, what: 'the vault' });
  try {
    const r = await sesame(['set', 'K'], { env: { ...h.env, SESAME_LOCK_TIMEOUT_MS: '300' }, input: 'v' });
    assert.equal(r.code, 7);
    assert.match(r.stderr, new RegExp(`busy.*pid ${process.pid}`));
  } finally {
    lock.release();
  }
  assert.equal((await sesame(['set', 'K'], { env: h.env, input: 'v' })).code, 0);
  h.cleanup();
});
