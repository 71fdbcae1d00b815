/**
 * Buffers for secret bytes that V8 never copies.
 *
 * Node 20 puts a typed array of up to 64 bytes on V8's own heap, whatever the allocator:
 * `Buffer.alloc`, `Buffer.from` and even `Buffer.allocUnsafeSlow` (measured: each of them left
 * 4 stale copies of a 16-byte pattern after 300 allocations and a few GCs; see
 * test/e2e/agent-memory.test.ts). The garbage collector moves such objects, so `fill(0)`
 * wipes only the newest copy. An `ArrayBuffer` created by its constructor always gets an
 * off-heap backing store (the array-buffer allocator, zero-filled), which the GC never moves:
 * wiping it wipes the only copy.
 *
 * Pure; no dependencies. The crypto door allocates its decrypt output here too.
 */

/**
 * A zero-filled Buffer of `n` bytes whose storage lives outside V8's movable heap and is
 * never shared with another Buffer (no pool). The caller wipes it when done.
 * Throws RangeError for a negative or too large `n`.
 */
export function allocSecret(n: number): Buffer {
  return Buffer.from(new ArrayBuffer(n));
}
