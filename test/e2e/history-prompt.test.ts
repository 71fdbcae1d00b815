// The new writes on a real pseudo-terminal: one no-echo passphrase prompt each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, PASSPHRASE, ROOT, initHome, requireTool, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';

const DRIVER = path.join(ROOT, 'test', 'helpers', 'pty-drive.py');

/** Runs sesame on a real pseudo-terminal, typing as a person would. */
async function onTty(args: string[], steps: Array<{ expect?: string; send?: string }>, env: NodeJS.ProcessEnv): Promise<{ output: string; status: number | null }> {
  const r = await runProcess('python3', [DRIVER, JSON.stringify(steps), process.execPath, BIN, ...args], { env });
  return JSON.parse(r.out) as { output: string; status: number | null };
}
const typed = (h: TestHome): NodeJS.ProcessEnv => {
  const { SESAME_PASSPHRASE_FILE: _p, ...rest } = h.env;
  return { ...rest, SESAME_NO_AGENT: '1' };
};
const count = (s: string, sub: string): number => s.split(sub).length - 1;

test('rollback and mv on a terminal ask for the passphrase once, without echo', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'K', 'one');
  await setSecret(h, 'K', 'two');
  const r = await onTty(['rollback', 'K'], [{ expect: 'Passphrase' }, { send: `${PASSPHRASE}\r` }], typed(h));
  assert.equal(r.status, 0, r.output);
  assert.equal(count(r.output, 'Passphrase'), 1);
  assert.ok(!r.output.includes(PASSPHRASE), 'never echoed');
  const m = await onTty(['mv', 'K', 'L'], [{ expect: 'Passphrase' }, { send: `${PASSPHRASE}\r` }], typed(h));
  assert.equal(m.status, 0, m.output);
  assert.equal((await sesame(['get', 'L'], { env: h.env })).out, 'one\n');
  // a name that does not exist is refused before the prompt
  const none = await onTty(['mv', 'NOPE', 'X'], [], typed(h));
  assert.equal(none.status, 4, none.output);
  assert.equal(count(none.output, 'Passphrase'), 0);
});

test('edit on a terminal asks for the passphrase once: one unlock reads and writes', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'K', 'old');
  const ed = path.join(path.dirname(h.dir), 'ed.sh');
  fs.writeFileSync(ed, `#!/bin/sh\nprintf 'new' > "$1"\n`, { mode: 0o700 });
  const r = await onTty(['edit', 'K'], [{ expect: 'Passphrase' }, { send: `${PASSPHRASE}\r` }, { expect: 'updated' }], { ...typed(h), EDITOR: ed });
  assert.equal(r.status, 0, r.output);
  assert.equal(count(r.output, 'Passphrase'), 1, r.output);
  assert.equal((await sesame(['get', 'K'], { env: h.env })).out, 'new\n');
});
