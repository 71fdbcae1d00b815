/**
 * Layer rules for the passphrase chain: a library core (no argv, console, exit or terminal),
 * the single doors (koffi only in os/native.ts, the OS keyring library only in keyring.ts,
 * writes of secret files only through fs/secure.ts), and no child process with a shell.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../helpers/cli.js';

const DIR = path.join(ROOT, 'src', 'core', 'passphrase');
const core = [...fs.readdirSync(DIR).map((f) => path.join(DIR, f)), path.join(ROOT, 'src', 'core', 'config.ts')];
const src = (f: string): string => fs.readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');

test('the passphrase core never touches argv, the console, exit or the terminal', () => {
  for (const f of core) {
    const s = src(f);
    for (const bad of [/process\.argv/, /console\./, /process\.exit/, /\/dev\/tty/, /from '\.\.\/\.\.\/cli\//, /process\.std(in|out|err)/]) {
      assert.doesNotMatch(s, bad, `${path.relative(ROOT, f)} uses ${String(bad)}`);
    }
  }
});

test('only keyring.ts loads the OS keyring library, and nothing here loads koffi directly', () => {
  for (const f of core) {
    const s = src(f);
    if (!f.endsWith('keyring.ts')) assert.doesNotMatch(s, /@napi-rs\/keyring'\)/, path.relative(ROOT, f));
    assert.doesNotMatch(s, /require\('koffi'\)|from 'koffi'/, path.relative(ROOT, f));
  }
});

test('the passphrase core writes files only through fs/secure.ts and never spawns a shell', () => {
  for (const f of core) {
    const s = src(f);
    assert.doesNotMatch(s, /writeFileSync|appendFileSync|createWriteStream|fs\.writeSync/, `${path.relative(ROOT, f)} writes a file itself`);
    assert.doesNotMatch(s, /shell:\s*true|execSync|\bexec\(/, `${path.relative(ROOT, f)} may use a shell`);
  }
  const spawners = core.filter((f) => /from 'node:child_process'/.test(src(f))).map((f) => path.basename(f));
  assert.deepEqual(spawners, ['run-tool.ts'], 'one module starts helpers');
});
