/**
 * The agent's session as a pure state machine with an injected clock (ms). The agent
 * injects CLOCK_BOOTTIME (native.ts bootTimeMs), which keeps counting while the machine is
 * suspended: an 8 h TTL is 8 h of wall time, asleep or not, and the first check after a
 * resume expires a session whose deadline passed during the suspend.
 *
 * - Idle TTL: any request but `status` resets it (daemon.ts); `idleMs = 0` disables it.
 * - Absolute TTL: fixed at start; activity never extends it.
 * - Once expired, the session stays expired: a late request cannot revive it.
 *
 * No timers here: the daemon asks `wakeInMs()` when to look again and calls `check()`,
 * so the rules are unit-tested by moving a fake clock, without sleeping.
 */

export type Expiry = 'idle' | 'ttl';

export interface SessionLimits {
  /** Idle timeout in ms; 0 disables it. */
  idleMs: number;
  /** Absolute lifetime in ms; must be > 0. */
  ttlMs: number;
  /** `--evict-after`: a project key unused this long (ms) is wiped (default 60 s; 0 = never). Not a session limit: the keeper applies it. */
  evictAfterMs?: number;
}

export interface Remaining {
  /** ms until the idle deadline; null when idle expiry is disabled. */
  idleMs: number | null;
  /** ms until the absolute deadline. */
  absoluteMs: number;
}

/** The session's TTL state machine over an injected clock (see the header). RangeError for negative or non-finite limits. */
export class Session {
  readonly limits: SessionLimits;
  readonly startedAt: number;
  #clock: () => number;
  #lastActivity: number;
  #expired: Expiry | null = null;

  constructor(limits: SessionLimits, clock: () => number) {
    if (!(Number.isFinite(limits.idleMs) && limits.idleMs >= 0)) throw new RangeError(`expected idleMs >= 0, got ${limits.idleMs}`);
    if (!(Number.isFinite(limits.ttlMs) && limits.ttlMs > 0)) throw new RangeError(`expected ttlMs > 0, got ${limits.ttlMs}`);
    this.limits = limits;
    this.#clock = clock;
    this.startedAt = clock();
    this.#lastActivity = this.startedAt;
  }

  /** Why the session ended, or null while it is live. */
  get expired(): Expiry | null {
    return this.#expired;
  }

  /** Evaluates the deadlines now; the absolute TTL wins a tie. */
  check(): Expiry | null {
    if (this.#expired) return this.#expired;
    const now = this.#clock();
    if (now >= this.startedAt + this.limits.ttlMs) this.#expired = 'ttl';
    else if (this.limits.idleMs > 0 && now >= this.#lastActivity + this.limits.idleMs) this.#expired = 'idle';
    return this.#expired;
  }

  /** Records a request. Returns false (and changes nothing) if the session has expired. */
  touch(): boolean {
    if (this.check()) return false;
    this.#lastActivity = this.#clock();
    return true;
  }

  /** ms until the earliest deadline (0 when one has passed). */
  wakeInMs(): number {
    const r = this.remaining();
    return Math.max(0, r.idleMs === null ? r.absoluteMs : Math.min(r.idleMs, r.absoluteMs));
  }

  remaining(): Remaining {
    const now = this.#clock();
    const absoluteMs = Math.max(0, this.startedAt + this.limits.ttlMs - now);
    const idleMs = this.limits.idleMs > 0 ? Math.max(0, this.#lastActivity + this.limits.idleMs - now) : null;
    return { idleMs, absoluteMs };
  }
}
