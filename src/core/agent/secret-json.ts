/**
 * A strict JSON parser over bytes for agent responses, so secret values never become
 * JavaScript strings in the client either: every string under an object member named
 * `value` must be base64 and comes back as a Buffer of the decoded bytes (the caller wipes
 * it). Every other string, number, literal, array and object parses as JSON.parse would.
 *
 * Stricter than JSON.parse where a reply from another process could mislead its reader: a
 * member name repeated in one object is refused (JSON.parse keeps the last one silently),
 * and a `value` must be canonical base64 (the unused bits of its last group are zero), so
 * one set of bytes has exactly one encoding on the wire.
 *
 * Throws SyntaxError on malformed input (the message names a byte offset, never content);
 * every Buffer decoded before the error is wiped first. Depth is capped at 32.
 */
import { b64Decode } from './b64.js';

const SECRET_MEMBER = 'value';
const MAX_DEPTH = 32;

/** The parsed document; its `value` members are Buffers the caller wipes. */
export function parseJsonBytes(buf: Buffer): unknown {
  return parseJsonSecrets(buf).doc;
}

/**
 * The parsed document and every Buffer decoded from a `value` member, in order, so a
 * caller that refuses the document's shape can wipe them all (including ones at places it
 * did not expect).
 */
export function parseJsonSecrets(buf: Buffer): { doc: unknown; secrets: Buffer[] } {
  const p = new Parser(buf);
  const doc = p.value(0, false);
  p.ws();
  if (p.i !== buf.length) p.fail('unexpected data after the value');
  return { doc, secrets: p.secrets };
}

class Parser {
  i = 0;
  readonly secrets: Buffer[] = [];
  constructor(readonly b: Buffer) {}

  fail(what: string): never {
    for (const s of this.secrets) s.fill(0);
    throw new SyntaxError(`malformed JSON at byte ${this.i}: ${what}`);
  }

  ws(): void {
    for (;;) {
      const c = this.b[this.i];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else return;
    }
  }

  value(depth: number, secret: boolean): unknown {
    if (depth > MAX_DEPTH) this.fail('nested too deeply');
    this.ws();
    const c = this.b[this.i];
    if (c === 0x22) return secret ? this.secretString() : this.string();
    if (secret) this.fail('a value member must be a base64 string');
    if (c === 0x7b) return this.object(depth);
    if (c === 0x5b) return this.array(depth);
    if (c === 0x74) return this.literal('true', true);
    if (c === 0x66) return this.literal('false', false);
    if (c === 0x6e) return this.literal('null', null);
    return this.number();
  }

  object(depth: number): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    this.i++;
    this.ws();
    if (this.b[this.i] === 0x7d) {
      this.i++;
      return o;
    }
    for (;;) {
      this.ws();
      if (this.b[this.i] !== 0x22) this.fail('expected a member name');
      const at = this.i;
      const k = this.string();
      if (Object.prototype.hasOwnProperty.call(o, k)) {
        this.i = at;
        this.fail('a member name is repeated');
      }
      this.ws();
      if (this.b[this.i++] !== 0x3a) this.fail('expected ":"');
      const v = this.value(depth + 1, k === SECRET_MEMBER);
      Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      this.ws();
      const c = this.b[this.i++];
      if (c === 0x7d) return o;
      if (c !== 0x2c) this.fail('expected "," or "}"');
    }
  }

  array(depth: number): unknown[] {
    const a: unknown[] = [];
    this.i++;
    this.ws();
    if (this.b[this.i] === 0x5d) {
      this.i++;
      return a;
    }
    for (;;) {
      a.push(this.value(depth + 1, false));
      this.ws();
      const c = this.b[this.i++];
      if (c === 0x5d) return a;
      if (c !== 0x2c) this.fail('expected "," or "]"');
    }
  }

  /** The end offset of the string starting at this.i (the opening quote). */
  #stringEnd(): number {
    let j = this.i + 1;
    for (;;) {
      const c = this.b[j];
      if (c === undefined) this.fail('unterminated string');
      if (c === 0x5c) j += 2;
      else if (c === 0x22) return j;
      else j++;
    }
  }

  string(): string {
    const end = this.#stringEnd();
    const s = JSON.parse(this.b.toString('utf8', this.i, end + 1)) as string;
    this.i = end + 1;
    return s;
  }

  secretString(): Buffer {
    const end = this.#stringEnd();
    if (!canonicalTail(this.b, this.i + 1, end)) this.fail('a value member is not canonical base64');
    const out = b64Decode(this.b, this.i + 1, end);
    if (!out) this.fail('a value member is not base64');
    this.secrets.push(out);
    this.i = end + 1;
    return out;
  }

  literal(word: string, v: boolean | null): boolean | null {
    if (this.b.toString('latin1', this.i, this.i + word.length) !== word) this.fail('unexpected token');
    this.i += word.length;
    return v;
  }

  number(): number {
    const start = this.i;
    while (this.i < this.b.length && /[-+0-9.eE]/.test(String.fromCharCode(this.b[this.i]!))) this.i++;
    if (start === this.i) this.fail('unexpected token');
    const txt = this.b.toString('latin1', start, this.i);
    if (!/^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/.test(txt)) this.fail('malformed number');
    return Number(txt);
  }
}

/** base64 alphabet index per byte (-1 outside it), so no byte of a value becomes a string. */
const B64_INDEX = new Int16Array(256).fill(-1);
Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1').forEach((c, i) => (B64_INDEX[c] = i));

/**
 * False when the last group of the base64 in `b[start, end)` carries non-zero unused bits
 * ("QR==" decodes like "QQ=="). The alphabet and length are b64Decode's to check.
 */
function canonicalTail(b: Buffer, start: number, end: number): boolean {
  if (end - start < 4 || b[end - 1] !== 0x3d) return true;
  const twoPad = b[end - 2] === 0x3d;
  const last = B64_INDEX[b[end - (twoPad ? 3 : 2)]!]!;
  return last < 0 || (last & (twoPad ? 0x0f : 0x03)) === 0;
}
