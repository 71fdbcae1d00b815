/**
 * Rate limits (src/core/policy/rate.ts): a token bucket per key on an injected clock — a
 * burst of N, then refills at N per period; over budget, a whole-second retry-after.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRateLimit, RateLimiter, rateLimitedError } from '../../src/core/policy/rate.js';

test('parses N/sec, N/min and N/hour and refuses anything else', () => {
  assert.deepEqual(parseRateLimit('100/min'), { count: 100, perMs: 60_000 });
  assert.deepEqual(parseRateLimit(' 5 / sec '), { count: 5, perMs: 1000 });
  assert.deepEqual(parseRateLimit('2/hour'), { count: 2, perMs: 3_600_000 });
  for (const bad of ['', '100', '0/min', '-1/min', '1.5/min', '100/week', '100/min/x', '99999999/sec', '1e3/min']) assert.ok('error' in parseRateLimit(bad), bad);
});

test('denies the request after the budget, with a retry-after in whole seconds', () => {
  const rl = new RateLimiter({ count: 3, perMs: 60_000 });
  const t = 1_000_000;
  for (let i = 0; i < 3; i++) assert.deepEqual(rl.take('token:0badc0de', t), { ok: true });
  // One request refills every 20 s.
  assert.deepEqual(rl.take('token:0badc0de', t), { ok: false, retryAfterS: 20 });
  assert.deepEqual(rl.take('token:0badc0de', t + 15_000), { ok: false, retryAfterS: 5 });
  assert.deepEqual(rl.take('token:0badc0de', t + 20_000), { ok: true });
  assert.deepEqual(rl.take('token:0badc0de', t + 20_001), { ok: false, retryAfterS: 20 });
});

test('keys are independent, and a denied request spends nothing', () => {
  const rl = new RateLimiter({ count: 1, perMs: 1000 });
  assert.equal(rl.take('profile:a', 0).ok, true);
  assert.equal(rl.take('profile:b', 0).ok, true);
  for (let i = 0; i < 10; i++) assert.equal(rl.take('profile:a', 500).ok, false);
  assert.equal(rl.take('profile:a', 1000).ok, true, 'denials did not push the refill back');
  assert.equal(rl.take('__proto__', 0).ok, true);
  assert.equal(rl.size, 3);
  rl.forget('__proto__');
  assert.equal(rl.size, 2);
});

test('a clock that goes backwards refills nothing', () => {
  const rl = new RateLimiter({ count: 2, perMs: 1000 });
  assert.equal(rl.take('k', 10_000).ok, true);
  assert.equal(rl.take('k', 10_000).ok, true);
  assert.equal(rl.take('k', 5_000).ok, false);
  assert.equal(rl.take('k', 10_499).ok, false);
  assert.equal(rl.take('k', 10_500).ok, true);
});

test('refills never exceed the burst', () => {
  const rl = new RateLimiter({ count: 2, perMs: 1000 });
  assert.equal(rl.take('k', 0).ok, true);
  let ok = 0;
  for (let i = 0; i < 5; i++) if (rl.take('k', 1_000_000).ok) ok++;
  assert.equal(ok, 2);
  assert.throws(() => new RateLimiter({ count: 0, perMs: 1000 }), RangeError);
});

test('over budget is a machine-readable denial with the retry-after', () => {
  const rl = new RateLimiter({ count: 1, perMs: 60_000 });
  rl.take('k', 0);
  const d = rl.take('k', 0);
  assert.ok(!d.ok);
  const e = rateLimitedError(d.retryAfterS);
  assert.equal(e.code, 'DENIED');
  assert.equal(e.message, 'denied: rate limited, retry after 60 s');
  assert.deepEqual(e.detail, { reason: 'rate', retry_after_s: 60 });
});
