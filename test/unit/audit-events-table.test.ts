/**
 * The vocabulary table is the one list of events (src/core/audit/events.ts): every event a
 * source file records has its row, and the sets the log and the verifier use are derived
 * from it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EVENTS, KEYED_EVENT_NAMES, READ_EVENT_NAMES } from '../../src/core/audit/events.js';
import { READ_EVENTS } from '../../src/core/audit/log.js';
import { KEYED_EVENTS } from '../../src/core/audit/verify.js';
import { ROOT } from '../helpers/cli.js';

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

test('every event a source file records has a row in the vocabulary table', () => {
  const found = new Map<string, string>();
  for (const f of tsFiles(path.join(ROOT, 'src'))) {
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/\bevent: '([a-z][a-z0-9_.-]*)'/g)) found.set(m[1]!, path.relative(ROOT, f));
  }
  assert.ok(found.size >= 10, `the scan found only ${found.size} recorded events: it is not looking where the records are made`);
  const missing = [...found].filter(([e]) => !(e in EVENTS)).map(([e, f]) => `${e} (${f})`);
  assert.deepEqual(missing, [], 'events recorded in src/ without a row in src/core/audit/events.ts');
});

test('the read and always-keyed sets are the rows of the table, and token commands are never among the keyed', () => {
  assert.equal(READ_EVENTS, READ_EVENT_NAMES);
  assert.equal(KEYED_EVENTS, KEYED_EVENT_NAMES);
  for (const [name, spec] of Object.entries(EVENTS)) {
    assert.equal(READ_EVENTS.has(name), spec.read, name);
    assert.equal(KEYED_EVENTS.has(name), spec.keyed === 'always', name);
    assert.ok(spec.fields.length > 0 && spec.what.length > 0, name);
  }
  for (const unkeyed of ['token_mint', 'token_revoke', 'unlock', 'lock', 'init', 'list']) assert.ok(!KEYED_EVENTS.has(unkeyed), `${unkeyed} is written without the key on some path`);
});

test('the spec lists every event of the table (docs/spec/audit-log.md, "Events")', () => {
  const spec = fs.readFileSync(path.join(ROOT, 'docs', 'spec', 'audit-log.md'), 'utf8');
  const section = spec.slice(spec.indexOf('## Events'), spec.indexOf('## The chain and the MAC'));
  assert.ok(section.length > 100, 'no Events section');
  const missing = Object.entries(EVENTS)
    .filter(([n, s]) => !section.includes(`| \`${n}\` | ${s.keyed} |`))
    .map(([n]) => n);
  assert.deepEqual(missing, [], 'events missing from the spec (or listed with another keying)');
});
