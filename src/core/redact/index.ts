/**
 * The streaming redactor: masks every needle value, and its common encodings, in an output
 * stream, replacing each hit with `<sesame:KEY>`. One Aho-Corasick automaton over all
 * patterns of all needles (automaton.ts), leftmost-longest hits (matcher.ts), and an
 * ANSI-escape-aware view for terminal streams (ansi.ts). docs/redaction.md is the full story:
 * encodings, the matching rule, what is covered on a terminal, and the memory residual.
 *
 * One Redactor per output stream; not safe to share between streams.
 */
import { SesameError } from '../errors.js';
import { buildAutomaton, type Automaton, type Pattern } from './automaton.js';
import { Arena, derivePatterns } from './encodings.js';
import { Matcher, type Sink } from './matcher.js';
import { AnsiView } from './ansi.js';
import { copyBytes } from './copy.js';

export interface Needle {
  readonly name: string;
  /** The value; the caller keeps it and wipes it (the redactor keeps only derived tables). */
  readonly value: Buffer;
}

export interface RedactorOptions {
  /** Values shorter than this many bytes are not masked (default 6). */
  minLength?: number;
  /** Look through ANSI escape sequences interleaved with a value (default true). */
  ansi?: boolean;
}

export interface Redactor {
  /** Masks `chunk` (the caller keeps it); returns the bytes safe to emit now, in a new Buffer. */
  push(chunk: Buffer): Buffer;
  /** Ends the stream: returns every byte still held, masked. */
  flush(): Buffer;
  /** Hits masked so far, per needle name. */
  counts(): Record<string, number>;
  /** Names whose value is shorter than minLength and is therefore not masked. */
  readonly tooShort: readonly string[];
  /** Zeroes every derived table and held byte; push() then throws (it never passes bytes through unmasked). */
  wipe(): void;
  /**
   * A redactor for another stream (stderr beside stdout) over the same tables: no second
   * build. It has its own held bytes and counts; the shared tables are zeroed when the last
   * redactor sharing them is wiped.
   */
  fork(): Redactor;
}

interface Shared {
  readonly needles: readonly Needle[];
  readonly automaton: Automaton;
  readonly markers: readonly Buffer[];
  readonly tooShort: readonly string[];
  readonly ansi: boolean;
  refs: number;
}

/** The marker that replaces a hit of the needle named `name`. */
export function marker(name: string): Buffer {
  return Buffer.from(`<sesame:${name}>`, 'utf8');
}

/**
 * A redactor for one output stream. `needles` may repeat a value (the first name owns the
 * marker) or be empty (bytes pass through). Throws INVALID for a minLength below 1.
 */
export function createRedactor(needles: readonly Needle[], opts: RedactorOptions = {}): Redactor {
  const minLength = opts.minLength ?? 6;
  if (!Number.isInteger(minLength) || minLength < 1) {
    throw new SesameError('INVALID', 'the redactor needs a minimum value length of at least 1 byte', { hint: 'pass minLength as a positive integer' });
  }
  const tooShort: string[] = [];
  const patterns: Pattern[] = [];
  const arena = new Arena();
  needles.forEach((n, owner) => {
    if (n.value.length < minLength) {
      if (!tooShort.includes(n.name)) tooShort.push(n.name);
      return;
    }
    for (const bytes of derivePatterns(n.value, undefined, arena)) if (bytes.length >= minLength) patterns.push({ bytes, owner });
  });
  const automaton: Automaton = buildAutomaton(patterns);
  arena.wipe();
  const markers = needles.map((n) => marker(n.name));
  return streamRedactor({ needles, automaton, markers, tooShort, ansi: opts.ansi !== false, refs: 1 });
}

/** Room for markers and held bytes beyond the chunk's own length in a push's output buffer. */
const OUT_SLACK = 4096;

function streamRedactor(shared: Shared): Redactor {
  const { needles, automaton, markers, tooShort } = shared;
  const hits = new Map<string, number>();
  // Masked output accumulates here (never a needle: only what is safe to emit). Each push
  // writes into a new buffer sized for its chunk and hands it over, so the bytes are copied
  // once on their way out.
  let acc = Buffer.allocUnsafeSlow(0);
  let accLen = 0;
  const append = (buf: Buffer, from: number, to: number): void => {
    if (accLen + to - from > acc.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(2 * acc.length, accLen + to - from));
      acc.copy(bigger, 0, 0, accLen);
      acc = bigger;
    }
    accLen += copyBytes(buf, from, to, acc, accLen);
  };
  const sink: Sink = {
    plain(buf, from, to) {
      if (to > from) append(buf, from, to);
    },
    hit(owner) {
      const name = needles[owner]!.name;
      hits.set(name, (hits.get(name) ?? 0) + 1);
      const m = markers[owner]!;
      append(m, 0, m.length);
    },
  };
  const view = shared.ansi ? new AnsiView(automaton, sink) : null;
  const matcher = view ?? new Matcher(automaton, sink);
  const take = (): Buffer => {
    const out = acc.subarray(0, accLen);
    acc = Buffer.allocUnsafeSlow(0);
    accLen = 0;
    return out;
  };
  let wiped = false;
  return {
    push(chunk) {
      if (wiped) throw new SesameError('INVALID', 'this redactor was wiped and can mask nothing more', { hint: 'create a new redactor for a new stream' });
      acc = Buffer.allocUnsafeSlow(chunk.length + OUT_SLACK);
      matcher.push(chunk);
      return take();
    },
    flush() {
      if (wiped) return Buffer.alloc(0);
      acc = Buffer.allocUnsafeSlow(OUT_SLACK);
      matcher.flush();
      return take();
    },
    counts() {
      return Object.fromEntries(hits);
    },
    tooShort,
    wipe() {
      if (wiped) return;
      wiped = true;
      matcher.wipe();
      if (--shared.refs === 0) automaton.wipe();
    },
    fork() {
      if (wiped || shared.refs === 0) throw new SesameError('INVALID', 'this redactor was wiped and can mask nothing more', { hint: 'create a new redactor for a new stream' });
      shared.refs++;
      return streamRedactor(shared);
    },
  };
}
