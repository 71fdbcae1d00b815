/**
 * Prompts on a real pseudo-terminal: three passphrase tries, `set` unlocking before it asks
 * for the value, init asking again on a mismatch and saying what comes next, strength
 * warnings, `passphrase reveal` clearing the screen, and the key-derivation spinner.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, PASSPHRASE, ROOT, initHome, makeHome, requireTool, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';

const DRIVER = path.join(ROOT, 'test', 'helpers', 'pty-drive.py');
type Step = { expect?: string; send?: string };

async function onTty(args: string[], steps: Step[], env: NodeJS.ProcessEnv): Promise<{ output: string; status: number | null }> {
  const r = await runProcess('python3', [DRIVER, JSON.stringify(steps), process.execPath, BIN, ...args], { env });
  return JSON.parse(r.out) as { output: string; status: number | null };
}

const noPassFile = (h: TestHome): NodeJS.ProcessEnv => {
  const env = { ...h.env };
  delete env.SESAME_PASSPHRASE_FILE;
  return env;
};

test('a passphrase prompt allows three tries: a right one on the third opens the vault', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await initHome();
  try {
    await setSecret(h, 'K', 'the-value');
    const r = await onTty(
      ['get', 'K', '--no-agent'],
      [{ expect: 'Passphrase' }, { send: 'wrong-1\r' }, { expect: '2 tries left' }, { send: 'wrong-2\r' }, { expect: '1 try left' }, { send: `${PASSPHRASE}\r` }],
      noPassFile(h),
    );
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /the-value/);
  } finally {
    h.cleanup();
  }
});

test('three wrong passphrases at the prompt exit 6 and print nothing', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await initHome();
  try {
    await setSecret(h, 'K', 'the-value');
    const r = await onTty(
      ['get', 'K', '--no-agent'],
      [{ expect: 'Passphrase' }, { send: 'wrong-1\r' }, { expect: '2 tries left' }, { send: 'wrong-2\r' }, { expect: '1 try left' }, { send: 'wrong-3\r' }],
      noPassFile(h),
    );
    assert.equal(r.status, 6, r.output);
    assert.doesNotMatch(r.output, /the-value/);
    assert.doesNotMatch(r.output, /wrong-\d/, 'never echoed');
  } finally {
    h.cleanup();
  }
});

test('set unlocks before it asks for the value, so a mistyped passphrase never costs the value', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await initHome();
  try {
    const r = await onTty(
      ['set', 'TYPED'],
      [{ expect: 'Passphrase' }, { send: 'typo\r' }, { expect: 'try again' }, { send: `${PASSPHRASE}\r` }, { expect: 'Value for TYPED: ' }, { send: 'typed-value\r' }],
      noPassFile(h),
    );
    assert.equal(r.status, 0, r.output);
    assert.ok(r.output.indexOf('Passphrase') < r.output.indexOf('Value for TYPED'), 'the passphrase is asked first');
    assert.equal((await sesame(['get', 'TYPED'], { env: h.env })).out, 'typed-value\n');
  } finally {
    h.cleanup();
  }
});

test('init asks again on a mismatch, then says the passphrase is unrecoverable, how to keep it, and the next step', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = makeHome();
  try {
    const pw = 'violet tractor eleven marmalade';
    const r = await onTty(
      ['init', '--kdf-memory', '8', '--kdf-passes', '1'],
      [
        { expect: 'New vault passphrase: ' },
        { send: `${pw}\r` },
        { expect: 'Repeat' },
        { send: 'different\r' },
        { expect: 'do not match; try again' },
        { expect: 'New vault passphrase: ' },
        { send: `${pw}\r` },
        { expect: 'Repeat' },
        { send: `${pw}\r` },
      ],
      noPassFile(h),
    );
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /cannot be recovered/);
    assert.match(r.output, /sesame passphrase seal/);
    assert.match(r.output, /sesame passphrase to-keyring/);
    assert.match(r.output, /next: `sesame set KEY`/);
    assert.doesNotMatch(r.output, /weak/, 'a strong passphrase draws no warning');
    fs.writeFileSync(h.passFile, `${pw}\n`);
    assert.equal((await sesame(['list'], { env: h.env })).code, 0);
  } finally {
    h.cleanup();
  }
});

test('init warns about a weak typed passphrase, and --require-strong refuses one and writes nothing', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = makeHome();
  try {
    const weak = await onTty(
      ['init', '--kdf-memory', '8', '--kdf-passes', '1'],
      [{ expect: 'New vault passphrase: ' }, { send: 'password1\r' }, { expect: 'Repeat' }, { send: 'password1\r' }],
      noPassFile(h),
    );
    assert.equal(weak.status, 0, weak.output);
    assert.match(weak.output, /warning: the new passphrase is weak/);
    assert.doesNotMatch(weak.output, /password1/);
    const h2 = makeHome();
    try {
      fs.writeFileSync(h2.passFile, 'password1\n');
      const r = await sesame(['init', '--require-strong', '--kdf-memory', '8', '--kdf-passes', '1'], { env: h2.env });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /weak .*nothing was changed/);
      assert.ok(!fs.existsSync(path.join(h2.dir, 'vault.json')));
      fs.writeFileSync(h2.passFile, 'violet tractor eleven marmalade\n');
      assert.equal((await sesame(['init', '--require-strong', '--kdf-memory', '8', '--kdf-passes', '1'], { env: h2.env })).code, 0, 'a strong one passes');
    } finally {
      h2.cleanup();
    }
  } finally {
    h.cleanup();
  }
});

test('passphrase change --require-strong refuses a weak new passphrase and keeps the old one', async () => {
  const h = await initHome();
  try {
    const r = await sesame(['passphrase', 'change', '--require-strong'], { env: h.env, input: 'abc123\n' });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /weak/);
    assert.equal((await sesame(['list'], { env: h.env })).code, 0, 'the old passphrase still opens the vault');
  } finally {
    h.cleanup();
  }
});

test('passphrase reveal on a terminal clears what it showed after a keypress', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await initHome();
  try {
    const r = await onTty(['passphrase', 'reveal'], [{ expect: 'Press any key' }, { send: 'x' }, { expect: 'Type saved' }, { send: 'no\r' }], h.env);
    const shown = r.output.indexOf(PASSPHRASE);
    assert.ok(shown >= 0, r.output);
    const clear = r.output.indexOf('\x1b[J', shown);
    assert.ok(clear > shown, 'a clear-screen sequence follows the passphrase');
    const ESC = String.fromCharCode(0x1b);
    assert.match(r.output.slice(shown, clear), new RegExp(`${ESC}\\[\\d+A$`), 'after moving the cursor back up over it');
  } finally {
    h.cleanup();
  }
});

test('a key derivation longer than half a second shows a spinner on a terminal, cleared after, and none without one', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = makeHome();
  try {
    assert.equal((await sesame(['init', '--kdf-memory', '256', '--kdf-passes', '6'], { env: h.env })).code, 0);
    await setSecret(h, 'K', 'v');
    const r = await onTty(['get', 'K', '--no-agent'], [], h.env);
    assert.equal(r.status, 0, r.output);
    const at = r.output.indexOf('deriving the vault key');
    assert.ok(at >= 0, `a spinner was shown: ${JSON.stringify(r.output)}`);
    assert.ok(r.output.indexOf('\r\x1b[K', at) > at, 'and its line cleared');
    const piped = await sesame(['get', 'K', '--no-agent'], { env: h.env });
    assert.equal(piped.code, 0);
    assert.doesNotMatch(piped.stderr, /deriving/, 'no spinner when stderr is not a terminal');
  } finally {
    h.cleanup();
  }
});
