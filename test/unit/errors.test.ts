import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SesameError } from '../../src/core/errors.js';
import { EXIT_CODES } from '../../src/cli/output.js';

test('every error code maps to the exit code PRODUCT.md documents', () => {
  assert.equal(EXIT_CODES.USAGE, 2);
  assert.equal(EXIT_CODES.LOCKED, 3);
  assert.equal(EXIT_CODES.NOT_FOUND, 4);
  assert.equal(EXIT_CODES.NOT_INITIALIZED, 5);
  assert.equal(EXIT_CODES.WRONG_PASSPHRASE, 6);
  assert.equal(EXIT_CODES.BUSY, 7);
  assert.equal(EXIT_CODES.DENIED, 8);
});

test('an error serialises to {code, message, hint} for the wire', () => {
  const e = new SesameError('NOT_FOUND', 'no key X', { hint: 'see list' });
  assert.deepEqual(JSON.parse(JSON.stringify(e)), { code: 'NOT_FOUND', message: 'no key X', hint: 'see list' });
});
