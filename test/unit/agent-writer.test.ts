/**
 * The reply writer's accounting, against a fake socket whose writes complete only when the
 * test says so: the per-connection bound, the agent-wide cap, wake-ups, and wiping.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { ReplyWriter, WriteBudget } from '../../src/core/agent/writer.js';

class FakeSock {
  done: Array<() => void> = [];
  write(_b: Buffer, cb: () => void): boolean {
    this.done.push(cb);
    return false;
  }
  flush(n = this.done.length): void {
    for (const cb of this.done.splice(0, n)) cb();
  }
}
const writer = (s: FakeSock, b: WriteBudget, limit: number): ReplyWriter => new ReplyWriter(s as unknown as net.Socket, b, limit);

test('a connection is blocked once its unsent bytes reach its bound, and unblocked when they drain', () => {
  const s = new FakeSock();
  const w = writer(s, new WriteBudget(1000), 100);
  w.write(Buffer.alloc(60), false);
  assert.equal(w.blocked, false);
  w.write(Buffer.alloc(60), false);
  assert.equal(w.blocked, true, 'one reply may overshoot; the next request waits');
  let woke = 0;
  w.onUnblock(() => woke++);
  assert.equal(woke, 0);
  s.flush(1);
  assert.equal(woke, 1);
  assert.equal(w.queued, 60);
  s.flush();
  assert.equal(woke, 1, 'a wake-up is delivered once');
});

test('the agent-wide cap blocks every connection and wakes them all when the total drops', () => {
  const b = new WriteBudget(100);
  const s1 = new FakeSock();
  const s2 = new FakeSock();
  const w1 = writer(s1, b, 1000);
  const w2 = writer(s2, b, 1000);
  w1.write(Buffer.alloc(100), false);
  assert.equal(w1.blocked, true);
  assert.equal(w2.blocked, true, 'another connection waits too');
  let woke = 0;
  w2.onUnblock(() => woke++);
  s1.flush();
  assert.equal(woke, 1);
  assert.equal(b.total, 0);
});

test('never leaves a secret unwiped: written ones at the callback, unsent ones at dispose', () => {
  const b = new WriteBudget(1000);
  const s = new FakeSock();
  const w = writer(s, b, 1000);
  const a = Buffer.from(new ArrayBuffer(8)).fill(7);
  const c = Buffer.from(new ArrayBuffer(8)).fill(9);
  const plain = Buffer.from('not secret');
  w.write(a, true);
  w.write(c, true);
  w.write(plain, false);
  s.flush(1);
  assert.ok(
    a.every((x) => x === 0),
    'wiped once written',
  );
  assert.ok(
    c.every((x) => x === 9),
    'not touched while the kernel may still read it',
  );
  w.dispose();
  assert.ok(
    c.every((x) => x === 0),
    'wiped when the connection goes away',
  );
  assert.equal(plain.toString(), 'not secret');
  assert.equal(b.total, 0, 'every byte returned to the agent-wide budget');
  s.flush();
  assert.equal(b.total, 0, 'late callbacks after dispose change nothing');
  const late = Buffer.from(new ArrayBuffer(4)).fill(1);
  w.write(late, true);
  assert.ok(
    late.every((x) => x === 0),
    'a reply for a gone connection is wiped, not written',
  );
  assert.equal(s.done.length, 0);
});

test('a failed write (the client left) stops the connection for good and wipes what was queued', () => {
  const b = new WriteBudget(1000);
  const fails: Array<(e: Error) => void> = [];
  const s = { write: (_b: Buffer, cb: (e: Error) => void) => (fails.push(cb), false) };
  const w = new ReplyWriter(s as unknown as net.Socket, b, 10);
  const a = Buffer.from(new ArrayBuffer(8)).fill(7);
  const c = Buffer.from(new ArrayBuffer(8)).fill(9);
  w.write(a, true);
  w.write(c, true);
  let woke = 0;
  w.onUnblock(() => woke++);
  fails[0]!(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
  assert.equal(woke, 0, 'the connection is not resumed');
  assert.equal(w.blocked, true, 'no further request is started');
  assert.ok(a.every((x) => x === 0) && c.every((x) => x === 0), 'every queued secret wiped at the first error');
  assert.equal(b.total, 0);
  fails[1]!(new Error('write EPIPE'));
  assert.equal(b.total, 0);
});
