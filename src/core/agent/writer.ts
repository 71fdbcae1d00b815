/**
 * Write backpressure for agent connections: how many reply bytes a connection, and the
 * agent as a whole, may have handed to Node without the kernel having taken them yet.
 *
 * A client that sends requests and never reads its replies would otherwise make the agent
 * hold every reply in memory (measured before this: 120 MB → 621 MB and an OOM kill from
 * 15 KB of `get`s of a 1 MiB value). The rule (docs/spec/agent-protocol.md, "Limits"):
 *
 * - `ReplyWriter.write()` never refuses a reply: a reply already computed is queued. The
 *   bound is kept by the reader: it asks `blocked` before it starts the next request and,
 *   when blocked, stops reading the connection (`sock.pause()`) and waits for `onUnblock`.
 *   So a connection holds at most its bound plus one reply.
 * - `WriteBudget` is shared by all connections. While its total is at or over its cap, every
 *   writer reports `blocked`; when the total drops below the cap, every waiting writer is
 *   told to resume.
 * - A secret reply is zeroed (`fill(0)`; its storage is off-heap, see
 *   core/bytes.ts) as soon as the kernel has its bytes (the write callback), or when the
 *   connection goes away (`dispose()`), whichever comes first.
 *
 * Framing-agnostic: a v2 frame writer writes each frame through the same `write()`.
 * Single-threaded use only.
 */
import type * as net from 'node:net';

/** Unsent reply bytes one connection may queue before the agent stops reading it. */
export const CONN_WRITE_LIMIT = 4 * 1024 * 1024;
/** Unsent reply bytes all connections together may queue before the agent stops reading all of them. */
export const TOTAL_WRITE_LIMIT = 64 * 1024 * 1024;

/** The agent-wide count of queued reply bytes, with a cap. */
export class WriteBudget {
  readonly cap: number;
  #total = 0;
  #waiting = new Set<() => void>();

  constructor(cap = TOTAL_WRITE_LIMIT) {
    this.cap = cap;
  }

  /** Bytes queued by all writers and not yet taken by the kernel. */
  get total(): number {
    return this.#total;
  }

  get exhausted(): boolean {
    return this.#total >= this.cap;
  }

  /** Counts `n` more queued bytes. */
  take(n: number): void {
    this.#total += n;
  }

  /** Returns `n` bytes; wakes every waiter once the total is below the cap. */
  give(n: number): void {
    this.#total -= n;
    if (this.#total < this.cap && this.#waiting.size) {
      const ws = [...this.#waiting];
      this.#waiting.clear();
      for (const w of ws) w();
    }
  }

  /** Calls `fn` once, the next time the total drops below the cap. */
  wait(fn: () => void): void {
    this.#waiting.add(fn);
  }

  /** Forgets a waiter (a closed connection). */
  unwait(fn: () => void): void {
    this.#waiting.delete(fn);
  }
}

interface Pending {
  buf: Buffer;
  secret: boolean;
}

/** One connection's reply writer: counts its unsent bytes here and in the shared budget. */
export class ReplyWriter {
  readonly limit: number;
  #sock: net.Socket;
  #budget: WriteBudget;
  #queued = 0;
  #pending = new Set<Pending>();
  #onUnblock: (() => void) | undefined;
  /** More waiters (an exec's paused output), each called once. */
  #room = new Set<() => void>();
  #disposed = false;

  constructor(sock: net.Socket, budget: WriteBudget, limit = CONN_WRITE_LIMIT) {
    this.#sock = sock;
    this.#budget = budget;
    this.limit = limit;
  }

  /** Bytes this connection has queued and the kernel has not taken yet. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * True while this connection or the agent as a whole is over its bound: do not start
   * another request. Always true once a write failed or the writer was disposed.
   */
  get blocked(): boolean {
    return this.#disposed || this.#queued >= this.limit || this.#budget.exhausted;
  }

  /**
   * Queues `buf` on the socket. With `secret`, `buf` is zeroed once written or once the
   * connection is gone; the caller must not use it afterwards. After dispose, a secret is
   * wiped at once and nothing is written.
   */
  write(buf: Buffer, secret: boolean): void {
    if (this.#disposed) {
      if (secret) buf.fill(0);
      return;
    }
    const p: Pending = { buf, secret };
    this.#pending.add(p);
    this.#queued += buf.length;
    this.#budget.take(buf.length);
    this.#sock.write(buf, (err?: Error | null) => {
      if (err) this.dispose();
      else this.#settle(p);
    });
  }

  /**
   * Calls `fn` once, when `blocked` turns false (immediately if it is false now). Never,
   * after a write error (a client that left: EPIPE) or dispose: the requests still queued
   * on the connection are then never started, so no value is decrypted for nobody.
   */
  onUnblock(fn: () => void): void {
    this.#onUnblock = fn;
    this.#check();
  }

  /**
   * Calls `fn` once when `blocked` turns false (immediately if it is false now), beside the
   * reader's `onUnblock` slot: an exec pauses its output with it. Never after dispose.
   */
  onRoom(fn: () => void): void {
    if (this.#disposed) return;
    this.#room.add(fn);
    this.#check();
  }

  /**
   * Wipes every unsent secret and returns every counted byte to the budget; later writes
   * are wiped and dropped. Called by the connection on close, and by the writer itself on
   * the first failed write. Idempotent.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#budget.unwait(this.#wake);
    this.#onUnblock = undefined;
    this.#room.clear();
    for (const p of this.#pending) this.#release(p);
    this.#pending.clear();
  }

  #settle(p: Pending): void {
    if (!this.#pending.delete(p)) return; // already released by dispose()
    this.#release(p);
    this.#check();
  }

  #release(p: Pending): void {
    if (p.secret) p.buf.fill(0);
    this.#queued -= p.buf.length;
    this.#budget.give(p.buf.length);
  }

  #wake = (): void => {
    this.#check();
  };

  #check(): void {
    if ((!this.#onUnblock && !this.#room.size) || this.#disposed) return;
    if (this.#queued >= this.limit) return; // our own write callbacks will call again
    if (this.#budget.exhausted) {
      this.#budget.wait(this.#wake);
      return;
    }
    const fn = this.#onUnblock;
    this.#onUnblock = undefined;
    const room = [...this.#room];
    this.#room.clear();
    for (const r of room) r();
    fn?.();
  }
}
