import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session } from '../../src/core/agent/session.js';

/** A clock the test moves by hand: no sleeping. */
function fakeClock(start = 1000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

test('the session expires as idle once the idle time passes without a request', () => {
  const c = fakeClock();
  const s = new Session({ idleMs: 1000, ttlMs: 60_000 }, c.now);
  c.advance(999);
  assert.equal(s.check(), null);
  c.advance(1);
  assert.equal(s.check(), 'idle');
});

test('any request resets the idle deadline', () => {
  const c = fakeClock();
  const s = new Session({ idleMs: 1000, ttlMs: 60_000 }, c.now);
  for (let i = 0; i < 10; i++) {
    c.advance(900);
    assert.equal(s.touch(), true);
  }
  assert.equal(s.check(), null, '9 s of steady traffic with a 1 s idle limit');
  assert.equal(s.remaining().idleMs, 1000);
  c.advance(1000);
  assert.equal(s.check(), 'idle');
});

test('the absolute TTL fires under steady traffic: activity never extends it', () => {
  const c = fakeClock();
  const s = new Session({ idleMs: 1000, ttlMs: 5000 }, c.now);
  let served = 0;
  while (s.touch()) {
    served++;
    c.advance(100);
  }
  assert.equal(s.expired, 'ttl');
  assert.equal(served, 50, 'every request inside the 5 s lifetime was accepted, none after');
});

test('idle 0 never expires: only the TTL ends the session', () => {
  const c = fakeClock();
  const s = new Session({ idleMs: 0, ttlMs: 365 * 86_400_000 }, c.now);
  c.advance(364 * 86_400_000);
  assert.equal(s.check(), null);
  assert.equal(s.remaining().idleMs, null);
  c.advance(86_400_000);
  assert.equal(s.check(), 'ttl');
});

test('an expired session stays expired: a late request does not revive it', () => {
  const c = fakeClock();
  const s = new Session({ idleMs: 1000, ttlMs: 60_000 }, c.now);
  c.advance(1500);
  assert.equal(s.touch(), false, 'the deadline passed before the timer looked');
  assert.equal(s.expired, 'idle');
  c.advance(1);
  assert.equal(s.touch(), false);
  assert.equal(s.check(), 'idle');
});

test('the TTL wins when both deadlines pass at once', () => {
  const c = fakeClock();
  const s = new Session({ idleMs: 2000, ttlMs: 2000 }, c.now);
  c.advance(2000);
  assert.equal(s.check(), 'ttl');
});

test('wakeInMs points at the earliest deadline, and 0 once one has passed', () => {
  const c = fakeClock();
  const s = new Session({ idleMs: 3000, ttlMs: 10_000 }, c.now);
  assert.equal(s.wakeInMs(), 3000);
  c.advance(2000);
  s.touch();
  assert.equal(s.wakeInMs(), 3000);
  for (let i = 0; i < 3; i++) {
    c.advance(2000);
    assert.equal(s.touch(), true);
  }
  assert.equal(s.wakeInMs(), 2000, 'the TTL (at 10 s) is now nearer than the idle deadline (at 11 s)');
  c.advance(2000);
  assert.equal(s.wakeInMs(), 0);
  const noIdle = new Session({ idleMs: 0, ttlMs: 7000 }, c.now);
  assert.equal(noIdle.wakeInMs(), 7000);
});

test('remaining reports both deadlines from the injected clock', () => {
  const c = fakeClock();
  const s = new Session({ idleMs: 900_000, ttlMs: 28_800_000 }, c.now);
  c.advance(60_000);
  assert.deepEqual(s.remaining(), { idleMs: 840_000, absoluteMs: 28_740_000 });
});

test('refuses a zero or negative TTL and a negative idle time', () => {
  const c = fakeClock();
  assert.throws(() => new Session({ idleMs: 0, ttlMs: 0 }, c.now), RangeError);
  assert.throws(() => new Session({ idleMs: -1, ttlMs: 10 }, c.now), RangeError);
  assert.throws(() => new Session({ idleMs: 1, ttlMs: Number.NaN }, c.now), RangeError);
});
