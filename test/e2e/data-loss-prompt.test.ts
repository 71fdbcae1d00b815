import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { BIN, ROOT, initHome, requireTool, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';

const DRIVER = path.join(ROOT, 'test', 'helpers', 'pty-drive.py');

interface Step {
  expect?: string;
  send?: string;
}

/** Runs sesame on a real pseudo-terminal, typing (or pasting: one write) as a person would. */
async function onTty(h: TestHome, args: string[], steps: Step[]): Promise<{ output: string; status: number | null }> {
  const r = await runProcess('python3', [DRIVER, JSON.stringify(steps), process.execPath, BIN, ...args], { env: h.env });
  return JSON.parse(r.out) as { output: string; status: number | null };
}
const get = async (h: TestHome, k: string): Promise<{ code: number | null; out: string }> => sesame(['get', k, '--no-agent'], { env: h.env });

test('set at the prompt refuses a multi-line paste instead of keeping its first line', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await initHome();
  const r = await onTty(h, ['set', 'PEM'], [{ expect: 'Value for PEM: ' }, { send: '-----BEGIN KEY-----\rMIIEvQIBADANBg\r-----END KEY-----\r' }]);
  assert.equal(r.status, 1, r.output);
  assert.match(r.output, /more than one line; nothing was stored/);
  assert.match(r.output, /--multiline/);
  assert.ok(!r.output.includes('MIIEvQ'), 'the pasted value is never echoed');
  assert.equal((await get(h, 'PEM')).code, 4, 'nothing was stored');
  h.cleanup();
});

test('set --multiline at the prompt keeps every line, ending at a lone "." or Ctrl-D', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await initHome();
  const pem = '-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----';
  const r = await onTty(h, ['set', 'PEM', '--multiline'], [{ expect: 'Value for PEM' }, { send: `${pem.replace(/\n/g, '\r')}\r.\r` }]);
  assert.equal(r.status, 0, r.output);
  assert.ok(!r.output.includes('MIIEvQ'), 'no echo');
  assert.equal((await get(h, 'PEM')).out, `${pem}\n`);
  const d = await onTty(h, ['set', 'TWO', '--multiline'], [{ expect: 'Value for TWO' }, { send: 'a\r' }, { send: 'b\r' }, { send: '\x04' }]);
  assert.equal(d.status, 0, d.output);
  assert.equal((await get(h, 'TWO')).out, 'a\nb\n');
  h.cleanup();
});

test('set at the prompt refuses an empty answer and keeps the old value; a typed line is stored', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await initHome();
  await setSecret(h, 'K', 'old');
  const r = await onTty(h, ['set', 'K'], [{ expect: 'Value for K: ' }, { send: '\r' }]);
  assert.equal(r.status, 2, r.output);
  assert.match(r.output, /empty; nothing was stored/);
  assert.equal((await get(h, 'K')).out, 'old\n');
  const ok = await onTty(h, ['set', 'K'], [{ expect: 'Value for K: ' }, { send: 'typed-value\r' }]);
  assert.equal(ok.status, 0, ok.output);
  assert.match(ok.output, /updated K/);
  assert.equal((await get(h, 'K')).out, 'typed-value\n');
  h.cleanup();
});
