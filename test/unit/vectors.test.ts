import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { parseVault } from '../../src/core/vault/format.js';
import { UnlockedVault } from '../../src/core/vault/vault.js';
import { SesameError } from '../../src/core/errors.js';
import { reveal } from '../helpers/access-reveal.js';

const file = path.join(ROOT, 'test', 'vectors', 'vault-v1.json');
const PASS = Buffer.from('vector passphrase: sesame v1');

test('the committed version-1 vault vector still opens with its passphrase and holds its values', () => {
  const v = UnlockedVault.unlock(parseVault(fs.readFileSync(file)), PASS);
  assert.equal(reveal(v, 'default', 'DATABASE_URL').toString(), 'postgres://u:p@db/x');
  assert.equal(reveal(v, 'default', 'TRICKY').toString(), `it's "quoted" $(not run)\nline2`);
  assert.equal(reveal(v, 'default', 'HIGH').toString(), 'hv');
  assert.equal(v.entry('default', 'HIGH')?.high_value, true);
  assert.equal(reveal(v, 'work', 'API_TOKEN').toString(), 'w');
  assert.deepEqual(v.projectNames(), ['default', 'work']);
  v.dispose();
});

test('the committed vault vector refuses another passphrase as wrong, not damaged', () => {
  assert.throws(
    () => UnlockedVault.unlock(parseVault(fs.readFileSync(file)), Buffer.from('vector passphrase: sesame v2')),
    (e: unknown) => e instanceof SesameError && e.code === 'WRONG_PASSPHRASE',
  );
});
