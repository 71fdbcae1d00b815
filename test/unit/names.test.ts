import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkKeyName, checkProjectName, isValidKeyName } from '../../src/core/names.js';

test('accepts environment-safe key names', () => {
  for (const n of ['A', '_', 'API_KEY', 'a1', '_X9', 'x'.repeat(256)]) assert.ok(isValidKeyName(n), n);
});

test('refuses key names that are not environment-safe, naming the rule', () => {
  for (const n of ['', '1A', 'A-B', 'A B', 'A=B', 'Ä', 'x'.repeat(257), '$(x)', 'A\nB']) {
    assert.throws(() => checkKeyName(n), /\[A-Za-z_\]\[A-Za-z0-9_\]\* and be at most 256 characters/, JSON.stringify(n));
  }
});

test('refuses project names outside the rule', () => {
  assert.equal(checkProjectName('work-1.2'), 'work-1.2');
  for (const n of ['', '-x', '.x', 'a/b', '__proto__', 'x'.repeat(65)]) assert.throws(() => checkProjectName(n), /project name must match/);
});
