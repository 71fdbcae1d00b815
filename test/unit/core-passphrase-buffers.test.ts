/**
 * The file tier hands the chain a passphrase in a buffer of its own (not a slice of Node's
 * shared allocation pool, which other small Buffers share and which is never wiped as a
 * whole): the caller's fill(0) then reaches the only copy. The file's bytes are read
 * through the secure read door and wiped here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileTier } from '../../src/core/passphrase/sources.js';
import type { ChainContext } from '../../src/core/passphrase/chain.js';

test('the file tier returns the passphrase, one newline stripped, in a buffer that owns its memory', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-core-pass-'));
  t.after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const file = path.join(dir, 'pass');
  fs.writeFileSync(file, 'correct horse\n', { mode: 0o600 });
  const ctx = { env: { SESAME_PASSPHRASE_FILE: file }, warn: () => undefined } as unknown as ChainContext;
  const v = await fileTier.fetch(ctx);
  assert.ok(v);
  assert.equal(v.toString('utf8'), 'correct horse');
  assert.equal(v.byteOffset, 0);
  assert.equal(v.buffer.byteLength, v.length, 'not a slice of a shared pool');
  v.fill(0);
});
