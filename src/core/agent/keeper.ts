/**
 * What the agent holds: the master key, in libsodium guarded memory, and the vault opened
 * with it.
 *
 * Bursts. Requests are served in bursts: a burst begins with the first `with()` of an
 * event-loop turn and ends at `setImmediate` (the check phase of that turn, after its I/O
 * callbacks and microtasks, before the loop can wait again), or at `idle()`. While a burst
 * runs, the keys it used stay readable (one key window, `openKeyWindow`: two `mprotect`
 * calls per key per burst instead of two per request); when it ends they are no-access
 * again. So the key is no-access whenever the agent is not serving: while it waits for the
 * next request, between turns, and in turns that serve no request. Why a turn and not a time
 * window (say 5 ms): a timer would leave the key readable while the process sleeps in
 * epoll with nothing to do; a turn is over before the loop can block.
 *
 * Freshness. The vault file is re-read only when it changed: one stat (inode, size, mtime,
 * ctime; no read) at the start of each burst, not one per request. The re-read document is
 * verified (master check and file MAC) once, then values are decrypted per request. A `set`
 * that completed before a client sent its `get` is visible to that `get`: the request's
 * bytes arrived after the set, so they are read in a turn whose epoll wait returned after
 * them (a new connection's first read is always in a later turn than its accept), and that
 * turn's burst begins — and stats the file — after its wait returned. (The one reach past
 * this: a client that pipelines a request on a connection that still had unread bytes,
 * then runs a set in another process and sends a second request that lands in the same
 * turn, after the burst's stat; a request sent before its set completed may see the old
 * vault anyway.)
 *
 * A passphrase change (same master key) is picked up transparently; a re-initialised vault
 * (another master key) makes every read fail with KEY_CHANGED until the agent is restarted,
 * and the agent stays up.
 *
 * Security: the opened vault keeps the project keys it unwrapped, also in guarded memory
 * under the same burst rule; all of it is wiped when the file changes and on `dispose()`.
 * Values returned by reads are plain Buffers the caller must wipe.
 */
import * as fs from 'node:fs';
import { SesameError } from '../errors.js';
import { SecureKey, closeKeyWindow, openKeyWindow } from '../crypto/sodium.js';
import type { HomePaths } from '../paths.js';
import { fileVersionKey } from '../fs/secure.js';
import { readVault } from '../vault/store.js';
import { UnlockedVault } from '../vault/vault.js';

/** The error every read gets after the vault was re-initialised under the agent. */
export const KEY_CHANGED_MESSAGE = 'the vault key changed; restart the agent';

interface Cached {
  sig: string;
  vault?: UnlockedVault;
  error?: SesameError;
}

/** Idle eviction of project keys (`agent start --evict-after`). */
export interface EvictionOptions {
  /** A project key unused this long (ms) is wiped; 0 = never. */
  afterMs: number;
  /** The clock (ms; the agent's CLOCK_BOOTTIME, so a suspended machine counts as idle). */
  clock: () => number;
  /** Told of each eviction (project name; never a key). */
  onEvict?(project: string): void;
}

/** The default of `--evict-after`: 60 s. */
export const DEFAULT_EVICT_AFTER_MS = 60_000;

/** The agent's key holder and vault cache; single-threaded use only. */
export class VaultKeeper {
  #master: SecureKey;
  #paths: HomePaths;
  #cache: Cached | null = null;
  #inBurst = false;
  #bursts = 0;
  #stats = 0;
  readonly #endBurst = (): void => {
    this.idle();
  };
  #evict: EvictionOptions | undefined;
  /** Per cached project key: the use count last seen and when it last changed. */
  #seen = new Map<string, { uses: number; at: number }>();
  #sweeper: NodeJS.Timeout | undefined;

  /**
   * Takes ownership of `master` (wiped by dispose). With `evict`, a project key unused for
   * `evict.afterMs` is wiped (checked by a sweep every quarter of that, at most every 5 s and
   * at least every 100 ms); the master key stays until the agent stops.
   */
  constructor(master: SecureKey, paths: HomePaths, evict?: EvictionOptions) {
    this.#master = master;
    this.#paths = paths;
    if (evict && evict.afterMs > 0) {
      this.#evict = evict;
      this.#sweeper = setInterval(
        () => {
          this.sweep();
        },
        Math.max(100, Math.min(evict.afterMs / 4, 5000)),
      );
      this.#sweeper.unref();
    }
  }

  /**
   * Wipes every cached project key not used for `afterMs` (idle eviction); returns the
   * projects evicted. Called by the sweep timer; callable directly (tests).
   */
  sweep(): string[] {
    const ev = this.#evict;
    const v = this.#cache?.vault;
    if (!ev || !v || this.#inBurst) return [];
    const now = ev.clock();
    const held = v.cachedProjectKeys();
    const gone: string[] = [];
    for (const name of this.#seen.keys()) if (!held.has(name)) this.#seen.delete(name);
    for (const [name, uses] of held) {
      const s = this.#seen.get(name);
      if (!s || s.uses !== uses) {
        this.#seen.set(name, { uses, at: now });
        continue;
      }
      if (now - s.at >= ev.afterMs && v.evictProjectKey(name)) {
        this.#seen.delete(name);
        gone.push(name);
        ev.onEvict?.(name);
      }
    }
    return gone;
  }

  /** The projects whose keys are unwrapped and held now (names only; tests and status). */
  get heldProjectKeys(): string[] {
    return [...(this.#cache?.vault?.cachedProjectKeys().keys() ?? [])];
  }

  /**
   * Runs `fn` with the current vault (re-read and re-verified first if the file changed
   * since this burst began; see the header); throws the vault's error (NOT_INITIALIZED,
   * KEY_CHANGED, INTEGRITY…). Begins a burst when none runs: the keys `fn` uses stay
   * readable until the burst ends (this turn's check phase, or `idle()`).
   */
  with<T>(fn: (v: UnlockedVault) => T): T {
    if (!this.#inBurst) this.#beginBurst();
    const c = this.#cache!;
    if (c.error) throw c.error;
    return fn(c.vault!);
  }

  /**
   * Ends the current burst now: every key made readable in it is no-access again, and the
   * next `with()` stats the vault file anew. The connection layer may call it when it knows
   * a batch of requests is done; without it the burst ends by itself at `setImmediate`.
   * Idempotent.
   */
  idle(): void {
    if (!this.#inBurst) return;
    this.#inBurst = false;
    closeKeyWindow();
  }

  /** Counters for tests and benchmarks: bursts begun and stats of the vault file made. */
  get counters(): { bursts: number; stats: number } {
    return { bursts: this.#bursts, stats: this.#stats };
  }

  /** Wipes the master key and everything derived from it. Idempotent. */
  dispose(): void {
    clearInterval(this.#sweeper);
    this.idle();
    this.#drop();
    this.#master.dispose();
  }

  get disposed(): boolean {
    return this.#master.disposed;
  }

  #beginBurst(): void {
    this.#inBurst = true;
    this.#bursts++;
    openKeyWindow();
    setImmediate(this.#endBurst);
    const sig = this.#signature();
    if (!this.#cache || this.#cache.sig !== sig) this.#reload(sig);
  }

  #signature(): string {
    this.#stats++;
    try {
      return fileVersionKey(fs.statSync(this.#paths.vault, { bigint: true }));
    } catch (e) {
      return `missing:${(e as NodeJS.ErrnoException).code ?? 'error'}`;
    }
  }

  #drop(): void {
    this.#cache?.vault?.dispose();
    this.#cache = null;
  }

  #reload(sig: string): void {
    this.#drop();
    let copy: SecureKey | undefined;
    try {
      const doc = readVault(this.#paths);
      copy = this.#master.clone();
      this.#cache = { sig, vault: UnlockedVault.withMaster(doc, copy) };
    } catch (e) {
      copy?.dispose();
      this.#cache = { sig, error: agentError(e) };
    }
  }
}

function agentError(e: unknown): SesameError {
  if (!(e instanceof SesameError)) return new SesameError('ERROR', 'the agent cannot read the vault file', { cause: e, remedy: 'status' });
  if (e.code === 'KEY_CHANGED') {
    return new SesameError('KEY_CHANGED', KEY_CHANGED_MESSAGE, { remedy: 'agent_restart' });
  }
  return e;
}
