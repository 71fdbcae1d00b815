/**
 * Rate limits (a profile's `rate_limit`, a token's budget): one token bucket per key on an
 * injected clock. Pure: no timers, no I/O, no global state; the caller passes `nowMs` (the
 * agent passes its CLOCK_BOOTTIME-based clock), so tests never sleep.
 *
 * A limit "N/unit" is a bucket of capacity N refilled continuously at N per unit: a burst of
 * N, then one request every unit/N. Over budget, `take` says how many whole seconds to wait
 * (at least 1) until one request would pass — the `retry after N s` of the wire error.
 *
 * Keys are caller identities chosen by the agent (e.g. `profile:NAME`, `token:ID8`); they are
 * kept in a Map (user-influenced strings are never object keys). Memory: one entry per key
 * seen; `forget` drops one (a revoked token, a removed profile).
 */
import { SesameError } from '../errors.js';

/** A parsed rate limit: `count` requests per `perMs`. */
export interface RateLimit {
  readonly count: number;
  readonly perMs: number;
}

const PER: ReadonlyMap<string, number> = new Map([
  ['sec', 1000],
  ['s', 1000],
  ['second', 1000],
  ['min', 60_000],
  ['m', 60_000],
  ['minute', 60_000],
  ['hour', 3_600_000],
  ['h', 3_600_000],
]);

/** The largest count a limit may name (beyond it, a limit is no limit). */
export const MAX_RATE_COUNT = 1_000_000;

/**
 * Parses `N/sec`, `N/min` or `N/hour` (also `s`, `second`, `m`, `minute`, `h`), N a whole
 * number 1…MAX_RATE_COUNT. Returns the limit, or a reason. Never throws.
 */
export function parseRateLimit(s: string): RateLimit | { error: string } {
  const m = /^(\d{1,7})\s*\/\s*([a-z]{1,6})$/.exec(s.trim());
  const per = m ? PER.get(m[2]!) : undefined;
  if (!m || per === undefined) return { error: 'expected N/sec, N/min or N/hour, e.g. "100/min"' };
  const count = Number(m[1]);
  if (count < 1 || count > MAX_RATE_COUNT) return { error: `N must be 1 to ${MAX_RATE_COUNT}` };
  return Object.freeze({ count, perMs: per });
}

/** What `take` answers: go ahead, or wait `retryAfterS` whole seconds (≥ 1). */
export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterS: number };

interface Bucket {
  tokens: number;
  atMs: number;
}

/** Token buckets, one per key, all with the same limit. */
export class RateLimiter {
  readonly #limit: RateLimit;
  readonly #buckets = new Map<string, Bucket>();

  constructor(limit: RateLimit) {
    if (!(Number.isSafeInteger(limit.count) && limit.count > 0 && Number.isSafeInteger(limit.perMs) && limit.perMs > 0)) throw new RangeError('a rate limit needs a positive count and period');
    this.#limit = limit;
  }

  /**
   * Takes one request's worth from `key`'s bucket at `nowMs`. A new key starts full. A clock
   * that goes backwards refills nothing (never a bonus). Never throws.
   */
  take(key: string, nowMs: number): RateDecision {
    const { count, perMs } = this.#limit;
    const b = this.#buckets.get(key) ?? { tokens: count, atMs: nowMs };
    const elapsed = Math.max(0, nowMs - b.atMs);
    b.tokens = Math.min(count, b.tokens + (elapsed * count) / perMs);
    b.atMs = Math.max(b.atMs, nowMs);
    this.#buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    const waitMs = ((1 - b.tokens) * perMs) / count;
    return { ok: false, retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  /** Drops `key`'s bucket (it starts full if seen again). */
  forget(key: string): void {
    this.#buckets.delete(key);
  }

  /** How many keys have a bucket. */
  get size(): number {
    return this.#buckets.size;
  }
}

/**
 * The wire error for a request over budget: DENIED, `denied: rate limited, retry after N s`,
 * `detail: {reason: 'rate', retry_after_s: N}` (exit 8 at the CLI). Names no project or key,
 * so it reveals nothing about what exists.
 */
export function rateLimitedError(retryAfterS: number): SesameError {
  return new SesameError('DENIED', `denied: rate limited, retry after ${retryAfterS} s`, {
    hint: 'wait, then try again (or ask the owner for a higher rate_limit)',
    detail: { reason: 'rate', retry_after_s: retryAfterS },
  });
}
