/**
 * Memory hygiene of the paths of issue 13, measured as root reads memory: values of several
 * sizes served as descriptors (both kinds) and through the Node API; 2 s later, no copy of
 * any value nor of its base64 in the agent; and none in a long-lived Node program that read
 * them through the API (get, getSelected, getFd) and wiped what it got.
 *
 * 1-byte values are served too (the paths must handle them) but are not counted: one byte
 * occurs everywhere in any process. Needs root; never skipped in CI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { initHome, setSecret, type TestHome } from '../helpers/cli.js';
import { sleep, sockOf, startAgent, stopAgent } from '../helpers/agent.js';
import { canReadForeignMemory, countInMemory } from '../helpers/procmem.js';
import { getFdFromAgent } from '../../src/core/agent/fd-client.js';
import { closeDescriptor } from '../../src/core/os/native.js';
import { API } from '../helpers/api.js';

const PRINTABLE = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%&()*+,-./:;<=>?@[]^_{|}~', 'latin1');
const SIZES = [1, 8, 16, 40, 64, 1000, 65536];

function distinctive(n: number): Buffer {
  const r = crypto.randomBytes(n);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = PRINTABLE[r[i]! % PRINTABLE.length]!;
  return out;
}

/** The needles: each value of ≥ 8 bytes and its base64 (what crossed the socket). */
function needlesOf(values: Buffer[]): Buffer[] {
  return values.filter((v) => v.length >= 8).flatMap((v) => [v, Buffer.from(v.toString('base64'))]);
}

async function setup(): Promise<{ h: TestHome; keys: string[]; values: Buffer[] }> {
  const h = await initHome();
  const values = SIZES.map(distinctive);
  const keys = SIZES.map((n) => `V_${n}`);
  for (let i = 0; i < keys.length; i++) await setSecret(h, keys[i]!, values[i]!);
  return { h, keys, values };
}

/** A long-lived program using the API: reads every key `rounds` times each way, wipes all, then waits for stdin to close. */
function apiProgram(h: TestHome, keys: string[], rounds: number): Promise<{ pid: number; done: () => Promise<void> }> {
  const code = `
    import * as api from ${JSON.stringify(API)};
    const keys = ${JSON.stringify(keys)};
    const c = await api.connect();
    for (let r = 0; r < ${rounds}; r++) {
      for (const k of keys) { const v = await c.get(k); v.fill(0); }
      const sel = await c.getSelected({ only: keys });
      for (const v of sel.secrets.values()) v.fill(0);
      for (const k of keys) { const f = await c.getFd(k); const v = f.read(); v.fill(0); }
    }
    c.close();
    for (let i = 0; i < 5; i++) globalThis.gc?.();
    process.stdout.write('ready\\n');
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));`;
  const file = path.join(h.dir, '..', 'long-lived.mjs');
  fs.writeFileSync(file, code);
  const c = spawn(process.execPath, ['--expose-gc', file], { env: { ...h.env, SESAME_PASSPHRASE_FILE: '' }, stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    c.stdout.once('data', () => {
      resolve({
        pid: c.pid!,
        done: () =>
          new Promise<void>((r) => {
            c.once('exit', () => {
              r();
            });
            c.stdin.end();
          }),
      });
    });
    c.once('exit', (code) => {
      reject(new Error(`the program exited ${String(code)}`));
    });
  });
}

test('after fd deliveries of both kinds and API reads of 1 B … 64 KiB values, 2 s later no copy of any value or its base64 in the agent', { timeout: 300_000 }, async (t) => {
  if (!canReadForeignMemory()) {
    if (process.env.CI === 'true') assert.fail('the memory scan needs root');
    t.skip('reading another process memory needs root');
    return;
  }
  const { h, keys, values } = await setup();
  try {
    const agent = await startAgent(h);
    for (let r = 0; r < 5; r++) {
      for (const k of keys) {
        closeDescriptor(getFdFromAgent(sockOf(h), h.env, 'default', k).fd);
        closeDescriptor(getFdFromAgent(sockOf(h), h.env, 'default', k, { kind: 'sealed' }).fd);
      }
    }
    const prog = await apiProgram(h, keys, 5);
    await prog.done();
    await sleep(2000);
    const needles = needlesOf(values);
    const scan = countInMemory(agent, needles);
    t.diagnostic(`agent: ${scan.regions} regions read, ${scan.skipped} skipped; counts ${JSON.stringify(scan.counts)}`);
    assert.ok(scan.regions > 10, 'the scan read the agent memory');
    assert.deepEqual(
      scan.counts,
      needles.map(() => 0),
      `copies left in the agent: ${JSON.stringify(scan.where)}`,
    );
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a long-lived program that read values through the API (get, getSelected, getFd) and wiped them holds no copy of a value or its base64 2 s later', { timeout: 300_000 }, async (t) => {
  if (!canReadForeignMemory()) {
    if (process.env.CI === 'true') assert.fail('the memory scan needs root');
    t.skip('reading another process memory needs root');
    return;
  }
  const { h, keys, values } = await setup();
  try {
    await startAgent(h);
    const prog = await apiProgram(h, keys, 5);
    try {
      await sleep(2000);
      const needles = needlesOf(values);
      const scan = countInMemory(prog.pid, needles);
      t.diagnostic(`program: ${scan.regions} regions read, ${scan.skipped} skipped; counts ${JSON.stringify(scan.counts)}`);
      assert.ok(scan.regions > 10, 'the scan read the program memory');
      // Every value the program got (a Buffer, wiped): no copy at all.
      const raw = scan.counts.filter((_, i) => i % 2 === 0);
      assert.deepEqual(
        raw,
        raw.map(() => 0),
        `copies of values left in the program: ${JSON.stringify(scan.where)}`,
      );
      // Base64 as it crossed the socket: the client reads into one off-heap buffer of its own
      // (`onread`) and wipes it after each read, so none is left in memory Node freed.
      const b64 = scan.counts.filter((_, i) => i % 2 === 1).reduce((a, n) => a + n, 0);
      assert.equal(b64, 0, `base64 copies left in the program: ${b64} (${JSON.stringify(scan.where)})`);
    } finally {
      await prog.done();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
