/**
 * Copies and wipes of byte ranges for the redactor's hot paths. A terminal stream cuts its
 * text into many short pieces (the bytes between two colour codes); `Buffer.copy` and
 * `Buffer.fill` pay a fixed cost per call (a new typed-array view, a native call) that a
 * plain loop does not pay for a few bytes.
 */

/** Below this many bytes a loop beats the native copy. */
const SHORT = 64;

/** Copies `src[from, to)` into `dst` at `at` (which must have room); returns the count. */
export function copyBytes(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): number {
  const n = to - from;
  if (n <= 0) return 0;
  if (n > SHORT) {
    // A plain Uint8Array view: a Buffer's subarray() builds a Buffer, which costs more.
    dst.set(new Uint8Array(src.buffer, src.byteOffset + from, n), at);
    return n;
  }
  for (let k = 0; k < n; k++) dst[at + k] = src[from + k]!;
  return n;
}

/** Zeroes `buf[from, to)`. */
export function zeroBytes(buf: Uint8Array, from: number, to: number): void {
  if (to - from > SHORT) buf.fill(0, from, to);
  else for (let k = from; k < to; k++) buf[k] = 0;
}
