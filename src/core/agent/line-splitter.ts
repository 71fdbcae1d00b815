/**
 * Newline framing with a hard size cap, for both ends of the agent socket.
 *
 * `push(chunk)` returns the complete lines found so far (without the "\n"), in order.
 * A line longer than `maxLine` bytes never gets buffered past the cap: the splitter
 * reports `oversize` and stops accepting input (the caller answers and closes).
 *
 * Contract: returned lines are fresh Buffers or views the caller may keep; the splitter
 * keeps no reference to them. `wipe()` zeroes whatever is still buffered (responses on the
 * client side can carry secrets).
 *
 * With `copyRest`, the bytes of an incomplete line are copied off V8's heap (core/bytes.ts)
 * instead of kept as a view: for a reader that reuses one read buffer (a socket's `onread`),
 * whose bytes are overwritten and wiped after each push.
 */

import { allocSecret } from '../bytes.js';

export type PushResult = { lines: Buffer[]; oversize: boolean };

/** Splits a byte stream into lines of at most `maxLine` bytes (see the header: oversize stops it; `wipe()` zeroes what is buffered). */
export class LineSplitter {
  readonly maxLine: number;
  #pending: Buffer[] = [];
  #pendingLen = 0;
  #dead = false;
  readonly #copyRest: boolean;

  constructor(maxLine: number, opts: { copyRest?: boolean } = {}) {
    this.maxLine = maxLine;
    this.#copyRest = opts.copyRest === true;
  }

  /** Bytes buffered towards an incomplete line. */
  get buffered(): number {
    return this.#pendingLen;
  }

  push(chunk: Buffer): PushResult {
    const lines: Buffer[] = [];
    if (this.#dead) return { lines, oversize: true };
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      const piece = chunk.subarray(start, nl);
      if (this.#pendingLen + piece.length > this.maxLine) return this.#die(lines);
      if (this.#pendingLen === 0) lines.push(piece);
      else {
        this.#pending.push(piece);
        lines.push(Buffer.concat(this.#pending, this.#pendingLen + piece.length));
        // The pieces were copied into the line: wipe them where they were (the chunks they
        // came in), or a line spanning reads leaves its bytes behind (measured: a client's
        // getselected replies, test/e2e/fd-api-memory.test.ts).
        this.wipe();
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      const view = chunk.subarray(start);
      if (this.#pendingLen + view.length > this.maxLine) return this.#die(lines);
      let rest = view;
      if (this.#copyRest) {
        rest = allocSecret(view.length);
        view.copy(rest);
      }
      this.#pending.push(rest);
      this.#pendingLen += rest.length;
    }
    return { lines, oversize: false };
  }

  /** Zeroes and drops anything buffered. */
  wipe(): void {
    for (const b of this.#pending) b.fill(0);
    this.#clear();
  }

  #clear(): void {
    this.#pending = [];
    this.#pendingLen = 0;
  }

  #die(lines: Buffer[]): PushResult {
    this.#dead = true;
    this.wipe();
    return { lines, oversize: true };
  }
}
