import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, requireTool, sesame, setSecret, type TestHome } from '../helpers/cli.js';

const FRAG = /sk-live|51H8xYz|MIIEvQ|hunter2|p@ss|word|BEGIN KEY|ключ/;

/** A file an attacker (or a careless export) might hand to import: every value is distinctive. */
const HOSTILE = [
  'GOOD="sk-live.51H8xYz-good"',
  'D=p@ss#word',
  'ключ=hunter2',
  'sk-live.51H8xYz no equals here',
  'sk-live.51H8xYz=1',
  'PEM=-----BEGIN KEY-----',
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
  'MIIEvQIBADANBgkqhkiG9w0B==',
  '-----END KEY-----',
  'DUP=sk-live.51H8xYz-one',
  'DUP=sk-live.51H8xYz-two',
  'Q="sk-live.51H8xYz" sk-live.51H8xYz',
  'B=`sk-live.51H8xYz`',
  'E=',
  'U="sk-live.51H8xYz never closed',
  'AFTER=sk-live.51H8xYz-after',
].join('\n');

function file(h: TestHome, name: string, body: string | Buffer): string {
  const p = path.join(path.dirname(h.dir), name);
  fs.writeFileSync(p, body);
  return p;
}
const keys = async (h: TestHome): Promise<string[]> => (JSON.parse((await sesame(['list', '--json'], { env: h.env })).out) as { keys: Array<{ key: string }> }).keys.map((k) => k.key);

test('import refuses a file with any line it cannot take exactly as written, names each line, and writes nothing', async () => {
  const h = await initHome();
  const f = file(h, 'hostile.env', HOSTILE);
  const r = await sesame(['import', f], { env: h.env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nothing was imported/);
  assert.match(r.stderr, /--lenient/);
  for (const n of [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]) assert.match(r.stderr, new RegExp(`line ${n}\\b`), `line ${n} is reported`);
  assert.deepEqual(await keys(h), []);
  h.cleanup();
});

test('no value of a hostile import file appears in any output, strict, lenient, dry-run or json', async () => {
  const h = await initHome();
  const f = file(h, 'hostile.env', HOSTILE);
  for (const args of [[], ['--lenient'], ['--lenient', '--dry-run'], ['--lenient', '--json'], ['--json'], ['--dry-run']]) {
    const r = await sesame(['import', f, ...args], { env: h.env });
    assert.ok(!FRAG.test(r.stderr), `stderr of import ${args.join(' ')}: ${r.stderr}`);
    assert.ok(!FRAG.test(r.out), `stdout of import ${args.join(' ')}: ${r.out}`);
  }
  h.cleanup();
});

test('import --lenient takes the unambiguous lines and reports every skipped one', async () => {
  const h = await initHome();
  const f = file(h, 'hostile.env', HOSTILE);
  const r = await sesame(['import', f, '--lenient', '--json'], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.out) as { added: string[]; refused: Array<{ line: number; reason: string }> };
  assert.deepEqual(rep.added, ['GOOD'], 'nothing after an unterminated quote, no PEM line as a key, no half value');
  assert.deepEqual(
    rep.refused.map((x) => `${x.line}:${x.reason}`),
    [
      '2:hash-in-unquoted',
      '3:invalid-name',
      '4:no-equals',
      '5:invalid-name',
      '6:unquoted-multiline',
      '7:no-equals',
      '8:continuation',
      '9:no-equals',
      '10:duplicate',
      '11:duplicate',
      '12:text-after-quote',
      '13:backtick-quote',
      '14:empty-value',
      '15:unterminated-quote',
    ],
  );
  assert.equal(r.stderr.split('\n').filter((l) => /skipped line/.test(l)).length, 14);
  assert.deepEqual(await keys(h), ['GOOD']);
  assert.equal((await sesame(['get', 'GOOD', '--no-agent'], { env: h.env })).out, 'sk-live.51H8xYz-good\n');
  h.cleanup();
});

test('import keeps names like __proto__ and constructor, and values with # when quoted', async () => {
  const h = await initHome();
  const f = file(h, 'names.env', '__proto__=a\nconstructor=b\ntoString=c\nhasOwnProperty=d\nPW="p@ss#word"\nML="-----BEGIN KEY-----\nAAAA==\n-----END KEY-----"\n');
  const r = await sesame(['import', f], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await keys(h)).sort(), ['ML', 'PW', '__proto__', 'constructor', 'hasOwnProperty', 'toString'].sort());
  assert.equal((await sesame(['get', '__proto__', '--no-agent'], { env: h.env })).out, 'a\n');
  assert.equal((await sesame(['get', 'PW', '--no-agent'], { env: h.env })).out, 'p@ss#word\n');
  assert.equal((await sesame(['get', 'ML', '--no-agent'], { env: h.env })).out, '-----BEGIN KEY-----\nAAAA==\n-----END KEY-----\n');
  h.cleanup();
});

test('import --dry-run names what would change and writes nothing; existing keys are skipped unless --overwrite', async () => {
  const h = await initHome();
  await setSecret(h, 'OLD', 'old');
  const f = file(h, 'a.env', 'OLD=new\nNEW=n\n');
  const before = fs.readFileSync(path.join(h.dir, 'vault.json'));
  const d = await sesame(['import', f, '--dry-run', '--overwrite'], { env: h.env });
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stderr, /would import .*1 added, 0 skipped, 1 overwritten/);
  assert.deepEqual(fs.readFileSync(path.join(h.dir, 'vault.json')), before);
  assert.equal((await sesame(['import', f], { env: h.env })).code, 0);
  assert.equal((await sesame(['get', 'OLD', '--no-agent'], { env: h.env })).out, 'old\n');
  assert.equal((await sesame(['import', f, '--overwrite'], { env: h.env })).code, 0);
  assert.equal((await sesame(['get', 'OLD', '--no-agent'], { env: h.env })).out, 'new\n');
  h.cleanup();
});

test('import refuses a FIFO, /dev/zero, a symlink to it and a directory at once, and a file over 16 MiB', async (t) => {
  if (!requireTool(t, 'mkfifo', 'coreutils')) return;
  const h = await initHome();
  const base = path.dirname(h.dir);
  spawnSync('mkfifo', [path.join(base, 'fifo')]);
  fs.symlinkSync('/dev/zero', path.join(base, 'zero-link'));
  fs.mkdirSync(path.join(base, 'dir'));
  for (const p of [path.join(base, 'fifo'), '/dev/zero', path.join(base, 'zero-link'), path.join(base, 'dir')]) {
    const r = await sesame(['import', p], { env: h.env, timeoutMs: 20_000 });
    assert.equal(r.signal, null, `${p}: neither hangs nor aborts`);
    assert.equal(r.code, 1, `${p}: ${r.stderr}`);
    assert.match(r.stderr, /not a regular file/);
  }
  const big = path.join(base, 'big.env');
  fs.writeFileSync(big, Buffer.alloc(16 * 1024 * 1024 + 1, 0x61));
  const r = await sesame(['import', big], { env: h.env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /larger than 16 MiB/);
  assert.equal((await sesame(['import', path.join(base, 'missing.env')], { env: h.env })).code, 4);
  h.cleanup();
});
