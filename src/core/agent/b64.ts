/**
 * Byte-level base64 (RFC 4648 §4, standard alphabet, with padding) for secret values on the
 * agent wire. Both directions work on Buffers only, so a secret never becomes a JavaScript
 * string: `buf.toString('base64')` and `Buffer.from(str, 'base64')` would both create one.
 *
 * Pure. Used by the agent (encode) and the client (decode).
 */
import { allocSecret } from '../bytes.js';

const ALPHABET = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');
const PAD = 0x3d; // '='
const LOOKUP = new Int16Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET[i]!] = i;

/** The encoded length of `n` bytes (always a multiple of 4). */
export function b64Length(n: number): number {
  return Math.ceil(n / 3) * 4;
}

/**
 * Writes the base64 of `src` into `dst` at `off`; returns the offset after it.
 * `dst` must have room for b64Length(src.length) bytes (RangeError otherwise).
 */
export function b64EncodeInto(src: Uint8Array, dst: Uint8Array, off: number): number {
  if (off + b64Length(src.length) > dst.length) throw new RangeError(`expected room for ${b64Length(src.length)} bytes at ${off}, got ${dst.length - off}`);
  let o = off;
  let i = 0;
  const full = src.length - (src.length % 3);
  for (; i < full; i += 3) {
    const n = (src[i]! << 16) | (src[i + 1]! << 8) | src[i + 2]!;
    dst[o++] = ALPHABET[(n >>> 18) & 63]!;
    dst[o++] = ALPHABET[(n >>> 12) & 63]!;
    dst[o++] = ALPHABET[(n >>> 6) & 63]!;
    dst[o++] = ALPHABET[n & 63]!;
  }
  const rest = src.length - full;
  if (rest > 0) {
    const n = (src[i]! << 16) | (rest === 2 ? src[i + 1]! << 8 : 0);
    dst[o++] = ALPHABET[(n >>> 18) & 63]!;
    dst[o++] = ALPHABET[(n >>> 12) & 63]!;
    dst[o++] = rest === 2 ? ALPHABET[(n >>> 6) & 63]! : PAD;
    dst[o++] = PAD;
  }
  return o;
}

/**
 * Decodes base64 bytes `src[start, end)` into a new Buffer outside V8's movable heap (the
 * caller wipes it).
 * Strict: the length must be a multiple of 4, padding only at the end, no whitespace.
 * Returns null on any malformed input (the bytes read so far are wiped).
 */
export function b64Decode(src: Uint8Array, start = 0, end = src.length): Buffer | null {
  const len = end - start;
  if (len < 0 || len % 4 !== 0) return null;
  if (len === 0) return allocSecret(0);
  let pad = 0;
  if (src[end - 1] === PAD) pad = src[end - 2] === PAD ? 2 : 1;
  const out = allocSecret((len / 4) * 3 - pad);
  let o = 0;
  for (let i = start; i < end; i += 4) {
    const last = i + 4 === end;
    const a = LOOKUP[src[i]!]!;
    const b = LOOKUP[src[i + 1]!]!;
    const c = last && pad === 2 ? 0 : LOOKUP[src[i + 2]!]!;
    const d = last && pad >= 1 ? 0 : LOOKUP[src[i + 3]!]!;
    if ((a | b | c | d) < 0) {
      out.fill(0);
      return null;
    }
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = (n >>> 16) & 255;
    if (o < out.length) out[o++] = (n >>> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}
