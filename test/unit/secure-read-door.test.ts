import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readPrivateFileStat, readRegularFile } from '../../src/core/fs/secure.js';
import { SesameError } from '../../src/core/errors.js';

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-secread-'));
  fs.chmodSync(d, 0o700);
  return d;
}
function fifo(p: string): void {
  const r = spawnSync('mkfifo', [p]);
  assert.equal(r.status, 0, 'mkfifo');
}
const code = (c: string) => (e: unknown) => e instanceof SesameError && e.code === c;

test('readRegularFile refuses a FIFO without blocking', () => {
  const d = tmp();
  fifo(path.join(d, 'f'));
  assert.throws(
    () => readRegularFile(path.join(d, 'f'), 'import file'),
    (e: unknown) => code('INVALID')(e) && /a FIFO/.test((e as Error).message),
  );
  fs.rmSync(d, { recursive: true });
});

test('readRegularFile refuses /dev/zero, a symlink to it, and a directory', () => {
  const d = tmp();
  fs.symlinkSync('/dev/zero', path.join(d, 'z'));
  assert.throws(() => readRegularFile('/dev/zero', 'import file'), code('INVALID'));
  assert.throws(
    () => readRegularFile(path.join(d, 'z'), 'import file'),
    (e: unknown) => code('INVALID')(e) && /character device/.test((e as Error).message),
  );
  assert.throws(
    () => readRegularFile(d, 'import file'),
    (e: unknown) => code('INVALID')(e) && /directory/.test((e as Error).message),
  );
  fs.rmSync(d, { recursive: true });
});

test('readRegularFile caps the size and reads a regular file (through a symlink when allowed)', () => {
  const d = tmp();
  fs.writeFileSync(path.join(d, 'big'), Buffer.alloc(2048, 0x41));
  fs.symlinkSync(path.join(d, 'big'), path.join(d, 'link'));
  assert.throws(() => readRegularFile(path.join(d, 'big'), 'import file', { maxBytes: 1024 }), code('INVALID'));
  assert.equal(readRegularFile(path.join(d, 'link'), 'import file').length, 2048);
  assert.throws(() => readRegularFile(path.join(d, 'link'), 'f', { followSymlinks: false }), code('INSECURE'));
  assert.throws(() => readRegularFile(path.join(d, 'missing'), 'f'), code('NOT_FOUND'));
  fs.rmSync(d, { recursive: true });
});

test('readPrivateFileStat refuses a FIFO, a device symlink and a directory without blocking', () => {
  const d = tmp();
  fifo(path.join(d, 'f'));
  fs.chmodSync(path.join(d, 'f'), 0o600);
  fs.symlinkSync('/dev/zero', path.join(d, 'z'));
  assert.throws(() => readPrivateFileStat(path.join(d, 'f'), 'passphrase file'), code('INSECURE'));
  assert.throws(() => readPrivateFileStat(path.join(d, 'z'), 'passphrase file'), code('INSECURE'));
  assert.throws(() => readPrivateFileStat('/dev/zero', 'passphrase file'), code('INSECURE'));
  fs.mkdirSync(path.join(d, 'dir'), { mode: 0o700 });
  assert.throws(() => readPrivateFileStat(path.join(d, 'dir'), 'passphrase file'), code('INSECURE'));
  fs.rmSync(d, { recursive: true });
});

test('readPrivateFileStat caps the size by default and by rule', () => {
  const d = tmp();
  fs.writeFileSync(path.join(d, 'p'), Buffer.alloc(100, 0x61), { mode: 0o600 });
  assert.throws(() => readPrivateFileStat(path.join(d, 'p'), 'passphrase file', { maxBytes: 64 }), code('INVALID'));
  assert.equal(readPrivateFileStat(path.join(d, 'p'), 'passphrase file')!.data.length, 100);
  fs.rmSync(d, { recursive: true });
});
