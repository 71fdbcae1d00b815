import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, initHome, requireTool, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { parse } from 'dotenv';

/** Values chosen to break naive quoting: every one must come back byte for byte, and none may run. */
function hostileValues(canary: string): Array<[string, Buffer]> {
  return [
    ['SINGLE', Buffer.from(`it's '' ''' end'`)],
    ['DOUBLE', Buffer.from(`say "hi" "" \\" done`)],
    ['SUBST', Buffer.from(`$(touch ${canary}) \`touch ${canary}\` \${HOME} $HOME`)],
    ['NEWLINES', Buffer.from('line1\nline2\r\n\n')],
    ['BACKSLASH', Buffer.from('a\\b\\\\c\\n\\t\\')],
    ['UNICODE', Buffer.from('héllo wörld ✓ 😀 ﷽')],
    ['BYTES', Buffer.from([0x66, 0x80, 0xff, 0xfe, 0xc3, 0x28, 0x01, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x7f])],
    ['GLOB', Buffer.from('* ? [a-z] ~ ~root {a,b} !! !$ %1 # ; | & < > >> 2>&1')],
    ['DASH', Buffer.from('-n -e --')],
    ['FISHY', Buffer.from(`\\' \\\\' ' (echo x) $status %self`)],
    ['EMPTY', Buffer.alloc(0)],
  ];
}

async function storeAll(h: TestHome, values: Array<[string, Buffer]>): Promise<void> {
  // An empty value is a deliberate choice: set refuses it without --allow-empty.
  for (const [k, v] of values) await setSecret(h, k, v, v.length === 0 ? ['--allow-empty'] : []);
}

function checkDumps(dir: string, values: Array<[string, Buffer]>, shell: string): void {
  for (const [k, v] of values) {
    const got = fs.readFileSync(path.join(dir, k));
    assert.ok(got.equals(v), `${shell}: ${k} came back as ${JSON.stringify(got.toString('latin1'))}, expected ${JSON.stringify(v.toString('latin1'))}`);
  }
}

for (const shell of ['bash', 'zsh', 'fish'] as const) {
  test(`hostile values round-trip exactly through eval/source in real ${shell}, and nothing in them executes`, async (t) => {
    if (!requireTool(t, shell, shell)) return;
    const h = await initHome();
    const canary = path.join(h.dir, '..', 'pwned');
    const values = hostileValues(canary);
    await storeAll(h, values);
    const out = path.join(h.dir, '..', `out-${shell}`);
    fs.mkdirSync(out);
    const node = `'${process.execPath}' '${BIN}'`;
    const dumps = values.map(([k]) => (shell === 'fish' ? `printf '%s' "$${k}" > '${out}/${k}'` : `printf '%s' "$${k}" > '${out}/${k}'`)).join('\n');
    const script = shell === 'fish' ? `${node} env --format fish | source\nor exit 9\n${dumps}\n` : `set -e\neval "$(${node} env --format shell)"\n${dumps}\n`;
    const r = await runProcess(shell, shell === 'fish' ? ['--no-config', '-c', script] : ['-c', script], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    checkDumps(out, values, shell);
    assert.ok(!fs.existsSync(canary), 'no value may execute');
    h.cleanup();
  });
}

test('dotenv output round-trips through the dotenv parser for every value it accepts', async () => {
  const h = await initHome();
  const values = hostileValues('/nonexistent').filter(([k]) => !['BYTES', 'FISHY', 'SINGLE', 'NEWLINES'].includes(k));
  values.push(['LINES', Buffer.from('line1\nline2\n\n')]);
  await storeAll(h, values);
  const r = await sesame(['env', '--format', 'dotenv'], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  const parsed = parse(r.stdout);
  for (const [k, v] of values) assert.equal(parsed[k], v.toString('utf8'), k);
  await setSecret(h, 'CR', 'a\r\nb');
  const cr = await sesame(['env', '--format', 'dotenv'], { env: h.env });
  assert.equal(cr.code, 1);
  assert.match(cr.stderr, /CR contains a carriage return/);
  assert.equal(cr.out, '', 'nothing is printed when one value cannot be written');
  h.cleanup();
});

test('env --format json parses back to the same strings', async () => {
  const h = await initHome();
  const values = hostileValues('/nonexistent').filter(([k]) => k !== 'BYTES');
  await storeAll(h, values);
  const r = await sesame(['env', '--format', 'json'], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.out);
  for (const [k, v] of values) assert.equal(j[k], v.toString('utf8'), k);
  h.cleanup();
});

test('env --only and --prefix select keys; --strict fails with exit 4 and prints nothing', async () => {
  const h = await initHome();
  await storeAll(h, [
    ['APP_A', Buffer.from('1')],
    ['APP_B', Buffer.from('2')],
    ['OTHER', Buffer.from('3')],
  ]);
  const p = await sesame(['env', '--prefix', 'APP_', '--format', 'json'], { env: h.env });
  assert.deepEqual(JSON.parse(p.out), { APP_A: '1', APP_B: '2' });
  const o = await sesame(['env', '--only', 'OTHER,MISSING', '--format', 'json'], { env: h.env });
  assert.equal(o.code, 0);
  assert.deepEqual(JSON.parse(o.out), { OTHER: '3' });
  assert.match(o.stderr, /missing in project default: MISSING/);
  const s = await sesame(['env', '--only', 'OTHER,MISSING', '--strict'], { env: h.env });
  assert.equal(s.code, 4);
  assert.equal(s.out, '');
  assert.match(s.stderr, /MISSING/);
  h.cleanup();
});
