import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'dotenv';
import { dotenvLine, formatEnv, jsonString, shellLine, fishLine } from '../../src/core/envfmt.js';
import { SesameError } from '../../src/core/errors.js';

function randomValue(seed: number): Buffer {
  let x = seed * 2654435761;
  const n = (seed % 40) + 1;
  const alphabet = Buffer.from(`'"\`\\$(){}\n\r\t #=;|&<>!*?~%abcXYZ019é😀`);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = alphabet[x % alphabet.length]!;
  }
  return out;
}

test('dotenv lines round-trip exactly through the dotenv parser, or are refused', () => {
  let refused = 0;
  for (let seed = 1; seed < 3000; seed++) {
    const v = randomValue(seed);
    const s = v.toString('utf8');
    if (Buffer.from(s, 'utf8').compare(v) !== 0) continue; // not UTF-8: dotenv reads strings
    let line: Buffer;
    try {
      line = dotenvLine('K', v);
    } catch (e) {
      assert.ok(e instanceof SesameError && /every kind of quote|carriage return/.test(e.message));
      refused++;
      continue;
    }
    assert.equal(parse(line).K, s, `seed ${seed}: ${JSON.stringify(s)}`);
  }
  assert.ok(refused < 1500);
});

test('JSON strings round-trip through JSON.parse and refuse invalid UTF-8', () => {
  for (let seed = 1; seed < 2000; seed++) {
    const v = randomValue(seed);
    if (Buffer.from(v.toString('utf8'), 'utf8').compare(v) !== 0) {
      assert.throws(() => jsonString('K', v), /not valid UTF-8/);
      continue;
    }
    assert.equal(JSON.parse(jsonString('K', v).toString()), v.toString('utf8'));
  }
  const all = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  assert.equal(JSON.parse(jsonString('K', all).toString()), all.toString('latin1'));
});

test('refuses a value with a NUL byte for the environment, naming the key not the value', () => {
  for (const f of [shellLine, fishLine, dotenvLine]) {
    assert.throws(
      () => f('TOKEN', Buffer.from('qq\0zz')),
      (e: unknown) => e instanceof SesameError && /TOKEN/.test(e.message) && !/qq|zz/.test(e.message),
    );
  }
});

test('a JSON document of several secrets parses back to the same object', () => {
  const doc = formatEnv('json', [
    ['A', Buffer.from('1')],
    ['B', Buffer.from('"two"\n')],
  ]);
  assert.deepEqual(JSON.parse(doc.toString()), { A: '1', B: '"two"\n' });
  assert.deepEqual(JSON.parse(formatEnv('json', []).toString()), {});
});
