/**
 * The agent's memory as root would read it: after serving values of several sizes many
 * times (pipelined and one per connection, through get and getselected), no copy of any
 * value, nor of its base64 form, is left anywhere in the agent's readable memory.
 *
 * Why this can fail: Node keeps typed arrays of up to 64 bytes on V8's own heap, and the GC
 * copies them when it moves them; a wipe then hits only the newest copy. Any secret Buffer
 * allocated with Buffer.alloc/allocUnsafeSlow (or a secret turned into a string) shows up here.
 *
 * Needs root (the agent is not dumpable, so only CAP_SYS_PTRACE reads its memory): skipped
 * with that reason elsewhere, and never skipped in CI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import { initHome, setSecret } from '../helpers/cli.js';
import { sleep, sockOf, startAgent, stopAgent } from '../helpers/agent.js';
import { canReadForeignMemory, countInMemory } from '../helpers/procmem.js';

const PRINTABLE = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%&()*+,-./:;<=>?@[]^_{|}~', 'latin1');
const SIZES = [8, 16, 40, 64, 1000, 65536];

/** Random printable bytes, built byte by byte (never a string in this process either). */
function distinctive(n: number): Buffer {
  const r = crypto.randomBytes(n);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = PRINTABLE[r[i]! % PRINTABLE.length]!;
  return out;
}

/**
 * Sends `lines` on one connection, reads (after `holdMs`) until `want` replies arrived; returns the first
 * reply (parsed) and the number of `"ok":true` replies.
 */
function pipeline(sock: string, lines: string[], want: number, holdMs = 0): Promise<{ first: Record<string, unknown> | undefined; ok: number }> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection({ path: sock });
    const parts: Buffer[] = [];
    let count = 0;
    let first: Record<string, unknown> | undefined;
    let ok = 0;
    const t = setTimeout(() => {
      c.destroy();
      reject(new Error(`timed out with ${count} of ${want} replies`));
    }, 60_000);
    c.on('connect', () => {
      c.end(lines.join(''));
      if (holdMs) {
        // Read nothing for a while: the agent's replies pile up, alive across its GCs.
        c.pause();
        setTimeout(() => c.resume(), holdMs);
      }
    });
    c.on('data', (d: Buffer) => {
      let start = 0;
      for (let nl = d.indexOf(0x0a); nl !== -1; nl = d.indexOf(0x0a, start)) {
        parts.push(d.subarray(start, nl));
        const line = Buffer.concat(parts);
        parts.length = 0;
        if (count === 0) first = JSON.parse(line.toString('utf8')) as Record<string, unknown>;
        if (line.includes('"ok":true')) ok++;
        count++;
        start = nl + 1;
      }
      if (start < d.length) parts.push(d.subarray(start));
      if (count >= want) {
        clearTimeout(t);
        c.destroy();
        resolve({ first, ok });
      }
    });
    c.on('error', reject);
  });
}

const get = (key: string, id: number): string => `${JSON.stringify({ v: 1, id, op: 'get', project: 'default', key })}\n`;
const getSel = (id: number, only?: string[]): string => `${JSON.stringify({ v: 1, id, op: 'getselected', project: 'default', ...(only ? { only } : {}) })}\n`;

test('never leaves a copy of a served value or its base64 in the agent memory', { timeout: 300_000 }, async (t) => {
  if (!canReadForeignMemory()) {
    if (process.env.CI === 'true') assert.fail('this test needs root (CAP_SYS_PTRACE) to read the agent memory, and CI must run it');
    t.skip('needs root: only CAP_SYS_PTRACE can read a non-dumpable agent /proc/PID/mem');
    return;
  }
  const h = await initHome();
  const values = new Map<string, Buffer>(SIZES.map((n) => [`V${n}`, distinctive(n)] as const));
  for (const [k, v] of values) await setSecret(h, k, v);
  let pid = 0;
  try {
    pid = await startAgent(h);
    const sock = sockOf(h);
    // One more value set while the agent runs: the agent re-reads the vault (ciphertext only).
    const late = distinctive(32);
    await setSecret(h, 'LATE', late);
    values.set('LATE', late);
    const keys = [...values.keys()];
    for (const [k, v] of values) {
      const many = k === 'V65536' ? 200 : 1000;
      const r = await pipeline(
        sock,
        Array.from({ length: many }, (_, i) => get(k, i)),
        many,
      );
      assert.equal(r.ok, many, `${k}: every pipelined get answered`);
      assert.ok(Buffer.from(r.first!.value as string, 'base64').equals(v), `${k}: the right value`);
      for (let i = 0; i < 20; i++) assert.equal((await pipeline(sock, [get(k, i)], 1)).ok, 1);
    }
    const sel = await pipeline(
      sock,
      Array.from({ length: 100 }, (_, i) => getSel(i)),
      100,
    );
    assert.equal(sel.ok, 100);
    assert.deepEqual((sel.first!.secrets as Array<{ key: string }>).map((s) => s.key).sort(), [...keys].sort());
    for (let i = 0; i < 20; i++) assert.equal((await pipeline(sock, [getSel(i, [keys[i % keys.length]!])], 1)).ok, 1);
    const short = await pipeline(
      sock,
      Array.from({ length: 1000 }, (_, i) => getSel(i, ['V8', 'V16', 'V40', 'V64'])),
      1000,
    );
    assert.equal(short.ok, 1000);
    // A client that reads slowly: large replies fill the socket, short ones wait behind them
    // in the agent (and its write budget pauses and resumes the connection many times).
    const mixed: string[] = [];
    for (let i = 0; i < 300; i++) mixed.push(getSel(i), ...['V8', 'V16', 'V40', 'V64'].map((k, j) => get(k, 1000 + i * 4 + j)));
    const slow = await pipeline(sock, mixed, mixed.length, 1000);
    assert.equal(slow.ok, mixed.length);

    await sleep(2000);
    const needles: Buffer[] = [];
    const names: string[] = [];
    for (const [k, v] of values) {
      needles.push(v, Buffer.from(v.toString('base64'), 'latin1'));
      names.push(`${k} (${v.length} bytes)`, `base64 of ${k}`);
    }
    const scan = countInMemory(pid, needles);
    assert.ok(scan.regions > 10, `read ${scan.regions} regions of the agent`);
    const found = names.map((n, i) => ({ what: n, copies: scan.counts[i]!, at: scan.where[i]!.slice(0, 3) })).filter((f) => f.copies > 0);
    assert.deepEqual(found, [], 'copies of secret bytes left in the agent memory');
  } finally {
    await stopAgent(h);
    h.cleanup();
    for (const v of values.values()) v.fill(0);
  }
});
