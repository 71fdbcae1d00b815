import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, ROOT, initHome, makeHome, requireTool, runProcess, sesame, type TestHome } from '../helpers/cli.js';

const DRIVER = path.join(ROOT, 'test', 'helpers', 'pty-drive.py');

interface Step {
  expect?: string;
  send?: string;
}

/** Runs sesame on a real pseudo-terminal, typing as a person would. */
async function onTty(h: TestHome, args: string[], steps: Step[], env: NodeJS.ProcessEnv = h.env): Promise<{ output: string; status: number | null }> {
  const r = await runProcess('python3', [DRIVER, JSON.stringify(steps), process.execPath, BIN, ...args], { env });
  return JSON.parse(r.out);
}

test('init on a terminal asks for the passphrase twice without echoing it', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = makeHome();
  const env = { ...h.env };
  delete env.SESAME_PASSPHRASE_FILE;
  const r = await onTty(
    h,
    ['init', '--kdf-memory', '8', '--kdf-passes', '1'],
    [{ expect: 'New vault passphrase: ' }, { send: 'typed-secret-pw\r' }, { expect: 'Repeat' }, { send: 'typed-secret-pw\r' }],
    env,
  );
  assert.equal(r.status, 0, r.output);
  assert.ok(!r.output.includes('typed-secret-pw'), 'the passphrase is never echoed');
  assert.ok(fs.existsSync(path.join(h.dir, 'vault.json')));
  fs.writeFileSync(h.passFile, 'typed-secret-pw\n');
  assert.equal((await sesame(['list'], { env: h.env })).code, 0);
  const g = await sesame(['set', 'K'], { env: h.env, input: 'v' });
  assert.equal(g.code, 0, 'the typed passphrase opens the vault');
  h.cleanup();
});

test('init refuses three pairs of passphrases that do not match and writes nothing', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = makeHome();
  const env = { ...h.env };
  delete env.SESAME_PASSPHRASE_FILE;
  const pair = (n: number): Array<{ expect?: string; send?: string }> => [{ expect: 'New vault passphrase: ' }, { send: `one${n}\r` }, { expect: 'Repeat' }, { send: `two${n}\r` }];
  const r = await onTty(h, ['init'], [...pair(1), { expect: '2 tries left' }, ...pair(2), { expect: '1 try left' }, ...pair(3)], env);
  assert.equal(r.status, 1);
  assert.match(r.output, /do not match/);
  assert.ok(!fs.existsSync(path.join(h.dir, 'vault.json')));
  h.cleanup();
});

test('get on a terminal prompts for the passphrase without echo and prints only the value', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await initHome();
  await sesame(['set', 'K'], { env: h.env, input: 'the-value' });
  const env = { ...h.env };
  delete env.SESAME_PASSPHRASE_FILE;
  const r = await onTty(h, ['get', 'K', '--no-agent'], [{ expect: 'Passphrase' }, { send: 'correct horse battery staple\r' }], env);
  assert.equal(r.status, 0, r.output);
  assert.ok(!r.output.includes('correct horse'));
  assert.match(r.output, /the-value/);
  h.cleanup();
});

test('set on a terminal reads the value from a hidden prompt', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await initHome();
  const r = await onTty(h, ['set', 'TYPED'], [{ expect: 'Value for TYPED: ' }, { send: 'hidden-value\r' }]);
  assert.equal(r.status, 0, r.output);
  assert.ok(!r.output.includes('hidden-value'));
  assert.equal((await sesame(['get', 'TYPED'], { env: h.env })).out, 'hidden-value\n');
  h.cleanup();
});

test('init --force on a terminal replaces the vault only after the typed confirmation', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await initHome();
  const before = fs.readFileSync(path.join(h.dir, 'vault.json'));
  const no = await onTty(h, ['init', '--force'], [{ expect: 'Type replace to confirm: ' }, { send: 'nope\r' }]);
  assert.equal(no.status, 2);
  assert.ok(fs.readFileSync(path.join(h.dir, 'vault.json')).equals(before));
  const yes = await onTty(h, ['init', '--force', '--kdf-memory', '8', '--kdf-passes', '1'], [{ expect: 'Type replace to confirm: ' }, { send: 'replace\r' }]);
  assert.equal(yes.status, 0, yes.output);
  assert.ok(!fs.readFileSync(path.join(h.dir, 'vault.json')).equals(before));
  h.cleanup();
});
