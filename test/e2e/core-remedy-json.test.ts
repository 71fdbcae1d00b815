/**
 * The core's machine-readable remedy reaches a script: `--json` errors carry `remedy` next
 * to the hint the CLI words from it, and the human output keeps the same hint text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { initHome, makeHome, sesame } from '../helpers/cli.js';

test('a --json error names the remedy and the hint worded from it; the human hint is the same text', async () => {
  const h = await initHome();
  try {
    const j = await sesame(['get', 'NOPE', '--json'], { env: h.env });
    assert.equal(j.code, 4);
    const o = JSON.parse(j.out) as Record<string, unknown>;
    assert.equal(o.code, 'NOT_FOUND');
    assert.equal(o.remedy, 'list_keys');
    assert.equal(o.hint, 'see `sesame list`');
    const r = await sesame(['get', 'NOPE'], { env: h.env });
    assert.match(r.stderr, /^hint: see `sesame list`$/m);
  } finally {
    h.cleanup();
  }
});

test('a missing vault says to run init, from the remedy, in the same words as before', async () => {
  const h = makeHome();
  fs.mkdirSync(h.dir, { mode: 0o700 });
  try {
    const r = await sesame(['get', 'X', '--json'], { env: h.env });
    assert.equal(r.code, 5);
    const o = JSON.parse(r.out) as Record<string, unknown>;
    assert.equal(o.remedy, 'init');
    assert.equal(o.hint, 'run `sesame init` to create one (or pass --home / set SESAME_HOME)');
  } finally {
    h.cleanup();
  }
});
