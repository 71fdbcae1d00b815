/**
 * The version-2 connection layer in this process: the real conn.ts and dispatch.ts over a
 * real Unix socket pair (real peer credentials), with the plaintext door replaced by a stub
 * that holds requests in flight for as long as a test wants (as an approval would), and
 * hands out off-heap Buffers the test can inspect after the agent was done with them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { serveConnection, type ConnHooks } from '../../src/core/agent/conn.js';
import { dispatch } from '../../src/core/agent/dispatch.js';
import type { PlaintextDoor } from '../../src/core/agent/ops/context.js';
import { allocSecret } from '../../src/core/bytes.js';
import { SesameError } from '../../src/core/errors.js';

type Frame = Record<string, unknown>;

/** A gate a stubbed door waits on: `open()` lets the request go on. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

interface Held {
  key: string;
  signal: AbortSignal | undefined;
  values: Buffer[];
}

/** A door whose reads of a key named SLOW* wait for `gates[key]`; every value it hands out is recorded. */
function stubDoor(gates: Map<string, { wait: Promise<void> }>, held: Held[]): PlaintextDoor {
  const value = (s: string): Buffer => {
    const b = allocSecret(s.length);
    b.write(s, 'latin1');
    return b;
  };
  return {
    async readOne(ctx, _src, project, key) {
      const h: Held = { key, signal: ctx.signal, values: [] };
      held.push(h);
      await gates.get(key)?.wait;
      if (key === 'NOPE') throw new SesameError('NOT_FOUND', `no key ${key} in project ${project}`, { hint: 'see `sesame list`', detail: { key, project } });
      const v = value(`value of ${key}`);
      h.values.push(v);
      return v;
    },
    async readSelected(ctx, _src, _project, sel) {
      const h: Held = { key: (sel.only ?? ['*'])[0]!, signal: ctx.signal, values: [] };
      held.push(h);
      await gates.get(h.key)?.wait;
      const secrets: Array<[string, Buffer]> = (sel.only ?? []).map((k) => [k, value(`value of ${k}`.repeat(64))]);
      h.values.push(...secrets.map(([, b]) => b));
      return { secrets, missing: [] };
    },
    listVisible: () => Promise.resolve({ projects: [] }),
  };
}

/** An in-process agent connection layer on a fresh socket. */
async function harness(opts: { idleMs?: number; closing?: AbortSignal } = {}) {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-v2conn-'));
  fs.chmodSync(base, 0o700);
  const sock = path.join(base, 's.sock');
  const gates = new Map<string, { wait: Promise<void>; open(): void }>();
  const held: Held[] = [];
  const logs: string[] = [];
  let closedConns = 0;
  const door = stubDoor(gates, held);
  const status = (): Record<string, unknown> => ({ pid: process.pid });
  const hooks: ConnHooks = {
    uid: process.getuid!(),
    ...(opts.idleMs !== undefined ? { idleMs: opts.idleMs } : {}),
    ...(opts.closing ? { closing: opts.closing } : {}),
    activity: () => true,
    handle: (req, rc) => dispatch(req, rc, { src: { with: (fn) => fn(undefined as never) }, door, status }),
    stopRequested: () => {},
    log: (m) => logs.push(m),
  };
  const server = net.createServer((c) => {
    c.on('close', () => closedConns++);
    serveConnection(c, hooks);
  });
  await new Promise<void>((r) => server.listen(sock, r));
  return {
    sock,
    gates,
    held,
    logs,
    closedConns: () => closedConns,
    hold(key: string) {
      const g = gate();
      gates.set(key, g);
      return g;
    },
    cleanup() {
      for (const g of gates.values()) g.open();
      server.close();
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

/** A client connection that collects frames; `next(n)` waits for n more. */
async function client(sock: string) {
  const c = net.createConnection({ path: sock });
  await new Promise((r) => c.once('connect', r));
  const frames: Frame[] = [];
  let buf = '';
  let closed = false;
  let wake: (() => void) | undefined;
  c.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) !== -1) {
      frames.push(JSON.parse(buf.slice(0, nl)) as Frame);
      buf = buf.slice(nl + 1);
    }
    wake?.();
  });
  c.on('close', () => ((closed = true), wake?.()));
  c.on('error', () => {});
  return {
    c,
    frames,
    get closed() {
      return closed;
    },
    send(...reqs: Array<Record<string, unknown> | string>) {
      c.write(reqs.map((r) => (typeof r === 'string' ? r : JSON.stringify(r)) + '\n').join(''));
    },
    async until(n: number, ms = 5000): Promise<Frame[]> {
      const t0 = Date.now();
      while (frames.length < n && !closed) {
        if (Date.now() - t0 > ms) assert.fail(`only ${frames.length} of ${n} frames after ${ms} ms: ${JSON.stringify(frames)}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return frames;
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const finals = (fs_: Frame[], id: unknown): Frame[] => fs_.filter((f) => f.id === id && ['ok', 'error', 'exit'].includes(f.frame as string));

test('frames of two requests in flight interleave and each gets exactly one final frame', async () => {
  const h = await harness();
  try {
    const slow = h.hold('SLOW');
    const k = await client(h.sock);
    k.send({ v: 2, id: 'a', op: 'get', project: 'p', key: 'SLOW' }, { v: 2, id: 'b', op: 'get', project: 'p', key: 'FAST' }, { v: 2, id: 'c', op: 'status' });
    await k.until(2);
    assert.deepEqual(k.frames.map((f) => f.id).sort(), ['b', 'c'], 'the later requests are answered while the first is still in flight');
    slow.open();
    await k.until(3);
    await sleep(100);
    assert.equal(k.frames.length, 3, 'nothing more than one final frame per request');
    for (const id of ['a', 'b', 'c']) assert.equal(finals(k.frames, id).length, 1, `exactly one final frame for ${id}`);
    assert.equal(Buffer.from(finals(k.frames, 'a')[0]!.value as string, 'base64').toString(), 'value of SLOW');
    assert.equal((finals(k.frames, 'c')[0]!.status as Frame).protocol, 2);
    k.c.destroy();
  } finally {
    h.cleanup();
  }
});

test('a duplicate in-flight id is refused and the first request completes', async () => {
  const h = await harness();
  try {
    const slow = h.hold('SLOW');
    const k = await client(h.sock);
    k.send({ v: 2, id: 7, op: 'get', project: 'p', key: 'SLOW' }, { v: 2, id: 7, op: 'status' }, { v: 2, id: '7', op: 'status' });
    await k.until(2);
    const dup = k.frames.find((f) => f.id === 7)!;
    assert.equal(dup.frame, 'error');
    assert.deepEqual(dup.error, {
      code: 'PROTOCOL',
      message: 'request id 7 is already in flight on this connection',
      hint: 'wait for its final frame, or use another id',
      detail: { reason: 'duplicate_id' },
    });
    assert.equal(k.frames.find((f) => f.id === '7')?.frame, 'ok', 'ids are compared by type: "7" is not 7');
    slow.open();
    await k.until(3);
    assert.equal(k.frames[2]!.id, 7);
    assert.equal(k.frames[2]!.frame, 'ok', 'the first request is unaffected and completes');
    // Once its final frame is out, the id may be used again.
    k.send({ v: 2, id: 7, op: 'status' });
    await k.until(4);
    assert.equal(k.frames[3]!.frame, 'ok');
    k.c.destroy();
  } finally {
    h.cleanup();
  }
});

test('more than 32 requests in flight are refused one by one and the connection stays usable', async () => {
  const h = await harness();
  try {
    const slow = h.hold('SLOW');
    const k = await client(h.sock);
    const reqs = Array.from({ length: 34 }, (_, i) => ({ v: 2, id: i, op: 'get', project: 'p', key: 'SLOW' }));
    k.send(...reqs);
    await k.until(2);
    assert.deepEqual(
      k.frames.map((f) => [f.id, (f.error as { detail: { reason: string } }).detail.reason]),
      [
        [32, 'too_many'],
        [33, 'too_many'],
      ],
    );
    slow.open();
    await k.until(34);
    for (let i = 0; i < 32; i++) assert.equal(finals(k.frames, i).filter((f) => f.frame === 'ok').length, 1);
    k.c.destroy();
  } finally {
    h.cleanup();
  }
});

test('a client that disconnects cancels its requests and the agent wipes what they held', async () => {
  const h = await harness();
  try {
    const one = h.hold('SLOW');
    const sel = h.hold('SLOWSEL');
    const k = await client(h.sock);
    k.send({ v: 2, id: 1, op: 'get', project: 'p', key: 'SLOW' }, { v: 2, id: 2, op: 'getselected', project: 'p', only: ['SLOWSEL', 'B', 'C'] });
    while (h.held.length < 2) await sleep(10);
    assert.ok(h.held.every((x) => x.signal && !x.signal.aborted));
    k.c.destroy();
    while (h.closedConns() < 1) await sleep(10);
    assert.ok(
      h.held.every((x) => x.signal?.aborted),
      'every request in flight saw its AbortSignal fire',
    );
    // The door now returns what it decrypted for nobody: the ops must wipe it, not send it.
    one.open();
    sel.open();
    await sleep(50);
    const values = h.held.flatMap((x) => x.values);
    assert.equal(values.length, 4);
    for (const v of values)
      assert.ok(
        v.every((b) => b === 0),
        'a value decrypted for a client that left is zeroed',
      );
  } finally {
    h.cleanup();
  }
});

test('the idle deadline does not cut a request in flight', async () => {
  const h = await harness({ idleMs: 150 });
  try {
    const slow = h.hold('SLOW');
    const k = await client(h.sock);
    k.send({ v: 2, id: 1, op: 'get', project: 'p', key: 'SLOW' });
    await sleep(600);
    assert.equal(k.closed, false, 'four deadlines passed while the request was in flight');
    assert.equal(k.frames.length, 0);
    slow.open();
    await k.until(1);
    assert.equal(k.frames[0]!.frame, 'ok');
    // Nothing in flight any more: the deadline runs again, from its full length.
    const t0 = Date.now();
    await k.until(2, 3000);
    const dl = k.frames[1]!;
    assert.equal((dl.error as { detail: { reason: string } }).detail.reason, 'deadline');
    assert.equal(dl.v, 1, 'connection-level errors are v1-form lines');
    assert.ok(Date.now() - t0 >= 100, 'restarted from the full deadline when the request ended');
  } finally {
    h.cleanup();
  }
});

test('an unknown op is answered and the connection stays usable', async () => {
  const h = await harness();
  try {
    const k = await client(h.sock);
    k.send({ v: 2, id: 1, op: 'frob' }, { v: 2, id: 2, op: 'cancel', ref: 1 }, { v: 2, id: 3, op: 'get', project: 'p', key: 'K' });
    await k.until(3);
    const err = (id: number): Frame => k.frames.find((f) => f.id === id)!;
    assert.deepEqual(err(1).error, { code: 'PROTOCOL', message: 'unknown op "frob"', hint: 'this agent serves: get, getfd, getselected, list, status, stop', detail: { reason: 'unknown_op' } });
    assert.equal((err(2).error as { message: string }).message, 'unknown op "cancel"', 'a reserved op is unknown until served');
    assert.equal(err(3).frame, 'ok');
    assert.equal(k.closed, false);
    k.c.destroy();
  } finally {
    h.cleanup();
  }
});

test('a v1 line waits for every v2 request in flight before it, and nothing starts before its reply', async () => {
  const h = await harness();
  try {
    const slow = h.hold('SLOW');
    const k = await client(h.sock);
    k.send({ v: 2, id: 'a', op: 'get', project: 'p', key: 'SLOW' }, { v: 1, id: 1, op: 'status' }, { v: 2, id: 'b', op: 'status' });
    await sleep(150);
    assert.equal(k.frames.length, 0, 'the v1 barrier holds back the v1 line and everything after it');
    slow.open();
    await k.until(3);
    assert.deepEqual(
      k.frames.map((f) => f.id),
      ['a', 1, 'b'],
    );
    k.c.destroy();
  } finally {
    h.cleanup();
  }
});

test('when the agent shuts down, every v2 request in flight gets a final UNAVAILABLE shutdown frame', async () => {
  const closing = new AbortController();
  const h = await harness({ closing: closing.signal });
  try {
    h.hold('SLOW');
    const k = await client(h.sock);
    k.send({ v: 2, id: 1, op: 'get', project: 'p', key: 'SLOW' }, { v: 2, id: 2, op: 'get', project: 'p', key: 'SLOW' });
    while (h.held.length < 2) await sleep(10);
    closing.abort();
    await k.until(2);
    for (const f of k.frames) {
      assert.equal(f.frame, 'error');
      assert.deepEqual(
        [(f.error as { code: string }).code, (f.error as { message: string }).message, (f.error as { detail: unknown }).detail],
        ['UNAVAILABLE', 'the agent is shutting down', { reason: 'shutdown' }],
      );
    }
    assert.deepEqual(k.frames.map((f) => f.id).sort(), [1, 2]);
    assert.ok(
      h.held.every((x) => x.signal?.aborted),
      'and each is cancelled',
    );
    k.c.destroy();
  } finally {
    h.cleanup();
  }
});
