/**
 * Layer rule for the agent: the client path (what get/env/run/status load to talk to an
 * agent) must never reach the libsodium door, even transitively. It does reach the native
 * door (one SO_PEERCRED on the server's end after connecting, koffi loaded lazily then).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../helpers/cli.js';

/** Value (non-type) relative imports of a source file, static or dynamic. */
function imports(file: string): string[] {
  const src = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/gm)) {
    const spec = m[1] ?? m[2]!;
    out.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return out;
}

function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...imports(f));
  }
  return seen;
}

test('the agent client path never imports the libsodium door', () => {
  for (const entry of ['src/core/agent/client.ts', 'src/core/agent/probe.ts', 'src/cli/agent-status.ts']) {
    const files = [...closure(path.join(ROOT, entry))].map((f) => path.relative(ROOT, f));
    assert.ok(files.length >= 3, `${entry} has imports`);
    for (const door of ['src/core/crypto/sodium.ts']) assert.ok(!files.includes(door), `${entry} reaches ${door} via ${files.join(', ')}`);
  }
});

test('only the doors import sodium-native and koffi', () => {
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const n of fs.readdirSync(dir)) {
      const p = path.join(dir, n);
      if (fs.statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && /['"](sodium-native|koffi)['"]/.test(fs.readFileSync(p, 'utf8'))) offenders.push(path.relative(ROOT, p));
    }
  };
  walk(path.join(ROOT, 'src/core/agent'));
  walk(path.join(ROOT, 'src/cli'));
  assert.deepEqual(offenders, []);
});
