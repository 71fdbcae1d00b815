/**
 * The agent's TTLs count real time: the session runs on a clock that keeps counting while
 * the machine is suspended (CLOCK_BOOTTIME), and the state machine expires a session whose
 * deadline passed during a jump of that clock on the very next check (issue #7).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session } from '../../src/core/agent/session.js';
import { assertHardened, bootTimeMs } from '../../src/core/os/native.js';
import { SesameError } from '../../src/core/errors.js';

const H = 3_600_000;

/** A clock that only moves when told to, like CLOCK_BOOTTIME across a suspend. */
function jumpingClock(start = 1_000_000): { now: () => number; jump(ms: number): void } {
  let t = start;
  return { now: () => t, jump: (ms) => void (t += ms) };
}

test('a suspend of 9 h expires an 8 h TTL on the next check', () => {
  const c = jumpingClock();
  const s = new Session({ idleMs: 0, ttlMs: 8 * H }, c.now);
  assert.equal(s.check(), null);
  c.jump(9 * H); // the machine slept; the boot-time clock counted it
  assert.equal(s.check(), 'ttl');
  assert.equal(s.wakeInMs(), 0);
});

test('a request after a suspend longer than the idle TTL is refused, and the session stays expired', () => {
  const c = jumpingClock();
  const s = new Session({ idleMs: 15 * 60_000, ttlMs: 8 * H }, c.now);
  assert.equal(s.touch(), true);
  c.jump(H);
  assert.equal(s.touch(), false, 'the first request after the resume does not revive it');
  assert.equal(s.expired, 'idle');
  c.jump(-H + 1); // even a clock that went back cannot revive it
  assert.equal(s.touch(), false);
});

test('a suspend shorter than both TTLs leaves the session live with the remaining time reduced', () => {
  const c = jumpingClock();
  const s = new Session({ idleMs: 2 * H, ttlMs: 8 * H }, c.now);
  c.jump(H);
  assert.equal(s.check(), null);
  assert.deepEqual(s.remaining(), { idleMs: H, absoluteMs: 7 * H });
});

test('the agent clock never counts less than the monotonic clock (it includes suspended time)', () => {
  const mono = Number(process.hrtime.bigint()) / 1e6; // CLOCK_MONOTONIC
  const boot = bootTimeMs();
  assert.ok(boot >= mono - 1, `boot time ${boot} ms < monotonic ${mono} ms`);
  const later = bootTimeMs();
  assert.ok(later >= boot, 'boot time went backwards');
});

test('refuses to go on when either hardening step did not take effect, naming it', () => {
  const refused = (h: { dumpable: boolean; coreLimit: boolean }, re: RegExp): void => {
    assert.throws(
      () => assertHardened(h, 'the agent'),
      (e: unknown) => e instanceof SesameError && e.code === 'ERROR' && re.test(e.message) && typeof e.hint === 'string',
    );
  };
  refused({ dumpable: false, coreLimit: true }, /PR_SET_DUMPABLE 0 did not take effect/);
  refused({ dumpable: true, coreLimit: false }, /RLIMIT_CORE 0 did not take effect/);
  refused({ dumpable: false, coreLimit: false }, /PR_SET_DUMPABLE 0 and RLIMIT_CORE 0/);
  assert.deepEqual(assertHardened({ dumpable: true, coreLimit: true }, 'x'), { dumpable: true, coreLimit: true });
});
