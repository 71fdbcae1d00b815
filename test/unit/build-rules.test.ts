import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../helpers/cli.js';

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? sources(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : []));
}

test('no source default-imports a Node builtin (the CommonJS executable relies on it)', () => {
  const bad: string[] = [];
  for (const f of sources(path.join(ROOT, 'src'))) {
    const text = fs.readFileSync(f, 'utf8');
    for (const m of text.matchAll(/^import\s+(\w+)\s*(,|from)\s*.*['"]node:[a-z_/]+['"]/gm)) bad.push(`${path.relative(ROOT, f)}: ${m[0]}`);
  }
  assert.deepEqual(bad, []);
});

test('libsodium and koffi are each imported by exactly one module', () => {
  const users = (name: string): string[] =>
    sources(path.join(ROOT, 'src'))
      .filter((f) => fs.readFileSync(f, 'utf8').includes(`'${name}'`) && !f.includes(`${path.sep}types${path.sep}`))
      .map((f) => path.relative(ROOT, f));
  assert.deepEqual(users('sodium-native'), ['src/core/crypto/sodium.ts']);
  assert.deepEqual(users('koffi'), ['src/core/os/native.ts']);
});
