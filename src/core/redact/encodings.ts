/**
 * The encodings of a value the redactor masks, each derived byte by byte into allocSecret
 * Buffers (no value ever becomes a JS string). docs/redaction.md lists them with the tools
 * that emit each one, and the encodings left out.
 */
import { allocSecret } from '../bytes.js';
import { copyBytes, zeroBytes } from './copy.js';

/**
 * Where derived patterns live: slices of a few large allocSecret chunks, so deriving 100
 * values costs a few allocations, not thousands (each off-heap allocation weighs on the GC).
 * The owner wipes it once the automaton is built.
 */
export class Arena {
  private readonly chunks: Buffer[] = [];
  private cur: Buffer = allocSecret(0);
  private used = 0;

  /** A zero-filled slice of `n` bytes, valid until wipe(). */
  take(n: number): Buffer {
    if (this.used + n > this.cur.length) {
      this.cur = allocSecret(Math.max(n, 64 * 1024));
      this.chunks.push(this.cur);
      this.used = 0;
    }
    const b = this.cur.subarray(this.used, this.used + n);
    this.used += n;
    return b;
  }

  /** Zeroes every chunk. */
  wipe(): void {
    for (const c of this.chunks) c.fill(0);
  }
}

let arena = new Arena(); // the arena of the derivePatterns call in progress (synchronous)
let scratch = allocSecret(4096); // one Writer at a time builds here; wiped by each done()

/** Builds one pattern in the scratch space sized for the worst case, then an exact copy in the arena. */
class Writer {
  private readonly buf: Buffer;
  private n = 0;
  constructor(cap: number) {
    if (scratch.length < cap) {
      scratch.fill(0);
      scratch = allocSecret(Math.max(cap, 2 * scratch.length));
    }
    this.buf = scratch;
  }
  byte(b: number): void {
    this.buf[this.n++] = b;
  }
  ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.buf[this.n++] = s.charCodeAt(i);
  }
  hex2(b: number, upper: boolean): void {
    const d = upper ? HEX_UP : HEX_LO;
    this.buf[this.n++] = d[b >> 4]!;
    this.buf[this.n++] = d[b & 15]!;
  }
  bytes(src: Buffer, from = 0, to = src.length): void {
    this.n += copyBytes(src, from, to, this.buf, this.n);
  }
  done(): Buffer {
    const out = arena.take(this.n);
    copyBytes(this.buf, 0, this.n, out, 0);
    zeroBytes(this.buf, 0, this.n);
    return out;
  }
}

const HEX_LO = Buffer.from('0123456789abcdef');
const HEX_UP = Buffer.from('0123456789ABCDEF');
const B64_STD = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const B64_URL = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');

const isAlnum = (b: number): boolean => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
const inSet = (set: string) => {
  const t = new Uint8Array(256);
  for (let i = 0; i < set.length; i++) t[set.charCodeAt(i)] = 1;
  return (b: number): boolean => isAlnum(b) || t[b] === 1;
};

function hex(v: Buffer, upper: boolean): Buffer {
  const w = new Writer(v.length * 2);
  for (let i = 0; i < v.length; i++) w.hex2(v[i]!, upper);
  return w.done();
}

/** Base64 chars of `src` (unpadded; a trailing partial char takes zero bits). */
function base64Chars(src: Buffer, alphabet: Buffer): Buffer {
  const w = new Writer(Math.ceil((src.length * 4) / 3) + 4);
  let i = 0;
  for (; i + 3 <= src.length; i += 3) {
    const x = (src[i]! << 16) | (src[i + 1]! << 8) | src[i + 2]!;
    w.byte(alphabet[x >> 18]!);
    w.byte(alphabet[(x >> 12) & 63]!);
    w.byte(alphabet[(x >> 6) & 63]!);
    w.byte(alphabet[x & 63]!);
  }
  const left = src.length - i;
  if (left > 0) {
    const x = (src[i]! << 16) | (left === 2 ? src[i + 1]! << 8 : 0);
    w.byte(alphabet[x >> 18]!);
    w.byte(alphabet[(x >> 12) & 63]!);
    if (left === 2) w.byte(alphabet[(x >> 6) & 63]!);
  }
  return w.done();
}

/**
 * Base64 of a value that starts at offset k (0, 1, 2) of a 3-byte group in a longer stream:
 * the characters that depend on the value's bits alone, then (for a value that ends the
 * stream) the same with the last partial character, unpadded and padded.
 */
function base64Aligned(v: Buffer, alphabet: Buffer, out: Buffer[]): void {
  for (let k = 0; k < 3; k++) {
    const tmp = arena.take(k + v.length);
    v.copy(tmp, k);
    const chars = base64Chars(tmp, alphabet);
    tmp.fill(0);
    const a = [0, 2, 3][k]!;
    const e = Math.floor(((k + v.length) * 8) / 6);
    if (e > a) out.push(slice(chars, a, e));
    if (chars.length > e) {
      out.push(slice(chars, a, chars.length));
      const w = new Writer(chars.length + 2);
      w.bytes(chars, a);
      w.ascii((k + v.length) % 3 === 1 ? '==' : '=');
      out.push(w.done());
    }
    chars.fill(0);
  }
}

function slice(src: Buffer, from: number, to: number): Buffer {
  const out = arena.take(to - from);
  copyBytes(src, from, to, out, 0);
  return out;
}

/** Percent-encoding: bytes for which `keep` holds stay, space may become '+', the rest %XX. */
function percent(v: Buffer, keep: (b: number) => boolean, upper: boolean, plus: boolean): Buffer {
  const w = new Writer(v.length * 3);
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (plus && b === 0x20) w.byte(0x2b);
    else if (keep(b)) w.byte(b);
    else {
      w.byte(0x25);
      w.hex2(b, upper);
    }
  }
  return w.done();
}

/** The next UTF-8 code point at v[i] as [codePoint, length], or null if the bytes are not UTF-8. */
function utf8At(v: Buffer, i: number): [number, number] | null {
  const b = v[i]!;
  if (b < 0x80) return [b, 1];
  const len = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xc2 && b <= 0xdf ? 2 : 0;
  if (len === 0 || i + len > v.length) return null;
  let cp = b & (0xff >> (len + 1));
  for (let j = 1; j < len; j++) {
    const c = v[i + j]!;
    if ((c & 0xc0) !== 0x80) return null;
    cp = (cp << 6) | (c & 0x3f);
  }
  const min = [0, 0, 0x80, 0x800, 0x10000][len]!;
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
  return [cp, len];
}

interface JsonStyle {
  /** Non-ASCII as \uXXXX (surrogate pairs beyond the BMP); needs valid UTF-8. */
  ascii?: boolean;
  /** '/' as '\/'. */
  slash?: boolean;
  /** < > & U+2028 U+2029 as \u escapes. */
  html?: boolean;
  /** Upper-case hex digits in \u escapes. */
  upper?: boolean;
}

const SHORT_ESC: Record<number, string> = { 0x22: '\\"', 0x5c: '\\\\', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t' };

/** A JSON string's body as an encoder of this style writes it; null if it needs UTF-8 and v is not. */
function json(v: Buffer, style: JsonStyle): Buffer | null {
  const w = new Writer(v.length * 6 + 6);
  const u = (cp: number): void => {
    w.ascii('\\u');
    w.hex2(cp >> 8, style.upper === true);
    w.hex2(cp & 0xff, style.upper === true);
  };
  for (let i = 0; i < v.length;) {
    const b = v[i]!;
    const short = SHORT_ESC[b];
    if (short !== undefined) w.ascii(short);
    else if (b < 0x20) u(b);
    else if (b === 0x2f && style.slash === true) w.ascii('\\/');
    else if ((b === 0x3c || b === 0x3e || b === 0x26) && style.html === true) u(b);
    else if (b < 0x80) w.byte(b);
    else {
      const cp = utf8At(v, i);
      if (cp === null) {
        if (style.ascii === true || style.html === true) {
          w.done().fill(0);
          return null;
        }
        w.byte(b);
        i++;
        continue;
      }
      const [c, len] = cp;
      if (style.ascii === true && c >= 0x10000) {
        u(0xd800 + ((c - 0x10000) >> 10));
        u(0xdc00 + ((c - 0x10000) & 0x3ff));
      } else if (style.ascii === true || (style.html === true && (c === 0x2028 || c === 0x2029))) u(c);
      else w.bytes(v, i, i + len);
      i += len;
      continue;
    }
    i++;
  }
  return w.done();
}

/** Backslash escapes: \\, the quote given, \n \r \t, and \xhh for other control and 8-bit bytes. */
function cEscape(v: Buffer, quote: number): Buffer {
  const w = new Writer(v.length * 4);
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (b === 0x5c || b === quote) {
      w.byte(0x5c);
      w.byte(b);
    } else if (b === 0x0a) w.ascii('\\n');
    else if (b === 0x0d) w.ascii('\\r');
    else if (b === 0x09) w.ascii('\\t');
    else if (b < 0x20 || b >= 0x7f) {
      w.ascii('\\x');
      w.hex2(b, false);
    } else w.byte(b);
  }
  return w.done();
}

/** Each byte through a table of replacements (bytes without one stay). */
function replace(v: Buffer, table: Record<number, string>): Buffer {
  const w = new Writer(v.length * 6);
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    const r = table[b];
    if (r !== undefined) w.ascii(r);
    else w.byte(b);
  }
  return w.done();
}

const RFC3986 = inSet('-._~');
const URI_COMPONENT = inSet("-._~!'()*");
const FORM = inSet('*-._');
const PATH = inSet('-._~/');

/** One encoding: its name (docs/redaction.md) and how it derives patterns from a value. */
export interface Encoding {
  readonly name: string;
  /** Leaves letters, digits and `-._` as they are (so a token made of those is its own encoding). */
  readonly escaping?: boolean;
  derive(v: Buffer, out: Buffer[]): void;
}

const one =
  (f: (v: Buffer) => Buffer | null) =>
  (v: Buffer, out: Buffer[]): void => {
    const p = f(v);
    if (p !== null) out.push(p);
  };

/**
 * Every encoding the redactor masks, in the order docs/redaction.md gives them. Two encodings
 * that agree on a value (most agree on a plain ASCII token) yield one trie path.
 */
export const ENCODINGS: readonly Encoding[] = [
  { name: 'raw', derive: one((v) => slice(v, 0, v.length)) },
  { name: 'hex', derive: one((v) => hex(v, false)) },
  { name: 'HEX', derive: one((v) => hex(v, true)) },
  {
    name: 'base64',
    derive: (v, out) => {
      base64Aligned(v, B64_STD, out);
    },
  },
  {
    name: 'base64url',
    derive: (v, out) => {
      base64Aligned(v, B64_URL, out);
    },
  },
  { name: 'percent-all', derive: one((v) => percent(v, () => false, true, false)) },
  { name: 'percent-all-lower', derive: one((v) => percent(v, () => false, false, false)) },
  { name: 'percent-rfc3986', escaping: true, derive: one((v) => percent(v, RFC3986, true, false)) },
  { name: 'percent-uri-component', escaping: true, derive: one((v) => percent(v, URI_COMPONENT, true, false)) },
  { name: 'percent-path', escaping: true, derive: one((v) => percent(v, PATH, true, false)) },
  { name: 'form-urlencoded', escaping: true, derive: one((v) => percent(v, FORM, true, true)) },
  { name: 'query-plus', escaping: true, derive: one((v) => percent(v, RFC3986, true, true)) },
  { name: 'json', escaping: true, derive: one((v) => json(v, {})) },
  { name: 'json-ascii', escaping: true, derive: one((v) => json(v, { ascii: true })) },
  { name: 'json-ascii-upper', escaping: true, derive: one((v) => json(v, { ascii: true, upper: true })) },
  { name: 'json-ascii-slash', escaping: true, derive: one((v) => json(v, { ascii: true, slash: true })) },
  { name: 'json-html', escaping: true, derive: one((v) => json(v, { html: true })) },
  {
    name: 'json-twice',
    escaping: true,
    derive: one((v) => {
      const once = json(v, {});
      if (once === null) return null;
      const twice = json(once, {});
      once.fill(0);
      return twice;
    }),
  },
  { name: 'c-escape', escaping: true, derive: one((v) => cEscape(v, 0x22)) },
  { name: 'python-bytes', escaping: true, derive: one((v) => cEscape(v, 0x27)) },
  { name: 'shell-single', escaping: true, derive: one((v) => replace(v, { 0x27: "'\\''" })) },
  { name: 'html', escaping: true, derive: one((v) => replace(v, { 0x26: '&amp;', 0x3c: '&lt;', 0x3e: '&gt;', 0x22: '&quot;', 0x27: '&#39;' })) },
  { name: 'html-hex', escaping: true, derive: one((v) => replace(v, { 0x26: '&amp;', 0x3c: '&lt;', 0x3e: '&gt;', 0x22: '&quot;', 0x27: '&#x27;' })) },
  { name: 'html-decimal', escaping: true, derive: one((v) => replace(v, { 0x26: '&amp;', 0x3c: '&lt;', 0x3e: '&gt;', 0x22: '&#34;', 0x27: '&#39;' })) },
];

/**
 * Every pattern of `value` in the named encodings (all when `names` is absent), as slices of
 * `into` (allocSecret chunks: wipe the arena when done; a fresh one when absent). Patterns may
 * repeat; the trie merges them. Intermediate results sit in the arena too and go with it.
 */
export function derivePatterns(value: Buffer, names?: readonly string[], into: Arena = new Arena()): Buffer[] {
  const out: Buffer[] = [];
  const outer = arena;
  arena = into;
  // A token of letters, digits and `-._` comes out of every escaping encoding unchanged: those
  // would only repeat the raw pattern (the usual case: API keys, hex, most passwords).
  let plain = names === undefined;
  for (let i = 0; plain && i < value.length; i++) plain = isAlnum(value[i]!) || value[i] === 0x2d || value[i] === 0x2e || value[i] === 0x5f;
  try {
    for (const e of ENCODINGS) if ((names === undefined || names.includes(e.name)) && !(plain && e.escaping === true)) e.derive(value, out);
  } finally {
    arena = outer;
  }
  return out;
}
