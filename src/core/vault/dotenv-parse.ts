/**
 * A strict dotenv parser for `import`, working on bytes (docs/cli.md, "import").
 *
 * It takes a line only when its meaning is unambiguous, and reports every other line by
 * number and reason. The grammar:
 *   - blank lines and lines whose first non-blank character is `#` are comments;
 *   - `[export ]NAME=VALUE`, spaces or tabs allowed around NAME and after `=`;
 *   - VALUE unquoted: the rest of the line without trailing blanks; it may not contain `#`
 *     (comment or part of the value? ambiguous) nor be a backtick-quoted string;
 *   - VALUE 'single-quoted': taken literally, may span lines;
 *   - VALUE "double-quoted": may span lines; `\n` `\r` `\t` `\"` `\\` are escapes, any other
 *     backslash is kept as written; `$` is never expanded;
 *   - after a closing quote only blanks and an optional `# comment` may follow.
 * A name appearing twice, an invalid name, a line without `=`, an unterminated quote and an
 * empty value (unless allowed) are reported. A line that looks like the tail of an unquoted
 * multi-line value (`abc=` or `abc==` right after a line without `=`, as a PEM's last base64
 * line reads) is reported too, never taken as a key name, and so is an unquoted entry
 * followed by a line without `=` (its value was probably meant to continue).
 *
 * Security contract: values stay in Buffers allocated outside V8's movable heap (the caller
 * wipes them); no issue, and no error this module throws, contains any byte of a value or
 * of a line that was not taken, except a name that is a valid key name.
 */
import { isValidKeyName } from '../names.js';
import { allocSecret } from '../bytes.js';

export interface DotenvEntry {
  name: string;
  /** The value's bytes (allocSecret: off V8's movable heap); the caller wipes it. */
  value: Buffer;
  /** 1-based line where the entry starts. */
  line: number;
}

export type DotenvReason =
  'no-equals' | 'invalid-name' | 'duplicate' | 'hash-in-unquoted' | 'backtick-quote' | 'text-after-quote' | 'unterminated-quote' | 'empty-value' | 'continuation' | 'unquoted-multiline';

export interface DotenvIssue {
  /** 1-based line number. */
  line: number;
  reason: DotenvReason;
  /** The key name, only when it is a valid key name (names are metadata; values never appear). */
  name?: string;
  /** For a duplicate: the line where the name first appeared. */
  firstLine?: number;
}

export interface DotenvResult {
  entries: DotenvEntry[];
  issues: DotenvIssue[];
}

/** Words for each reason, for messages (never containing any input). */
export const DOTENV_REASONS: Readonly<Record<DotenvReason, string>> = {
  'no-equals': 'no "=" on the line (not NAME=VALUE; part of an unquoted multi-line value?)',
  'invalid-name': 'the name is not a valid key name ([A-Za-z_][A-Za-z0-9_]*, at most 256 characters)',
  duplicate: 'the name appears more than once',
  'hash-in-unquoted': 'an unquoted value contains "#" (a comment, or part of the value?); quote the value',
  'backtick-quote': 'backtick quotes are not supported; use single or double quotes',
  'text-after-quote': 'text after the closing quote',
  'unterminated-quote': 'a quote that is never closed (this line and every line after it were not taken)',
  'empty-value': 'the value is empty (pass --allow-empty to import empty values)',
  'unquoted-multiline': 'the next line has no "=": an unquoted value cannot span lines; quote the whole value',
  continuation: 'looks like the last line of an unquoted multi-line value, not NAME=VALUE; quote the whole value',
};

const SP = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const isBlank = (c: number | undefined): boolean => c === SP || c === TAB;

/** Copies bytes into memory outside V8's movable heap. */
function secretCopy(src: Buffer): Buffer {
  const b = allocSecret(src.length);
  src.copy(b);
  return b;
}

/**
 * Parses `input` (not modified; the caller wipes it). Every entry and every issue is
 * returned; deciding whether issues refuse the file is the caller's job. Duplicate names:
 * every occurrence after the first is an issue, and the first is dropped from `entries` too
 * (which one was meant is ambiguous).
 */
export function parseDotenv(input: Buffer, opts: { allowEmpty?: boolean } = {}): DotenvResult {
  const entries: DotenvEntry[] = [];
  const issues: DotenvIssue[] = [];
  let i = input.length >= 3 && input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf ? 3 : 0;
  let line = 1;
  let afterNoEquals = false;
  let prevUnquoted: DotenvEntry | undefined; // the entry taken from the line just before, if unquoted
  const lineEnd = (from: number): number => {
    const n = input.indexOf(LF, from);
    return n < 0 ? input.length : n;
  };
  const trimEnd = (from: number, to: number): number => {
    while (to > from && (isBlank(input[to - 1]) || input[to - 1] === CR)) to--;
    return to;
  };
  while (i < input.length) {
    const end = lineEnd(i);
    let p = i;
    while (p < end && isBlank(input[p])) p++;
    const lineNo = line;
    const next = (): void => {
      i = end + 1;
      line++;
    };
    const prev = prevUnquoted;
    prevUnquoted = undefined;
    if (p >= trimEnd(p, end) || input[p] === 0x23 /* # */) {
      afterNoEquals = false;
      next();
      continue;
    }
    if (input.subarray(p, p + 7).equals(Buffer.from('export ')) || input.subarray(p, p + 7).equals(Buffer.from('export\t'))) {
      p += 7;
      while (p < end && isBlank(input[p])) p++;
    }
    const eq = input.indexOf(0x3d /* = */, p);
    if (eq < 0 || eq >= end) {
      issues.push({ line: lineNo, reason: 'no-equals' });
      if (prev) {
        // `K=-----BEGIN KEY-----` then base64 lines: K would be the first line only.
        entries.splice(entries.indexOf(prev), 1);
        prev.value.fill(0);
        issues.push({ line: prev.line, reason: 'unquoted-multiline', name: prev.name });
      }
      afterNoEquals = true;
      next();
      continue;
    }
    const name = input.toString('latin1', p, trimEnd(p, eq));
    const nameOk = isValidKeyName(name);
    let v = eq + 1;
    while (v < end && isBlank(input[v])) v++;
    const q = input[v];
    if (q === 0x27 /* ' */ || q === 0x22 /* " */) {
      const r = quoted(input, v, q === 0x22);
      if (!r) {
        issues.push({ line: lineNo, reason: 'unterminated-quote', ...(nameOk ? { name } : {}) });
        break; // where the value ends is unknowable: nothing after it is taken
      }
      // Lines inside the quotes belong to this entry.
      for (let k = v; k < r.close; k++) if (input[k] === LF) line++;
      const after = lineEnd(r.close);
      let t = r.close + 1;
      while (t < after && isBlank(input[t])) t++;
      const tail = trimEnd(t, after);
      i = after; // next() moves past this line's end
      const stop = (): void => {
        i = after + 1;
        line++;
      };
      afterNoEquals = false;
      if (t < tail && input[t] !== 0x23) {
        r.value.fill(0);
        issues.push({ line: lineNo, reason: 'text-after-quote', ...(nameOk ? { name } : {}) });
      } else if (!nameOk) {
        r.value.fill(0);
        issues.push({ line: lineNo, reason: 'invalid-name' });
      } else if (!r.value.length && !opts.allowEmpty) {
        issues.push({ line: lineNo, reason: 'empty-value', name });
      } else entries.push({ name, value: r.value, line: lineNo });
      stop();
      continue;
    }
    const vEnd = trimEnd(v, end);
    const wasAfterNoEquals = afterNoEquals;
    afterNoEquals = false;
    if (wasAfterNoEquals && (vEnd === v || input[v] === 0x3d)) {
      issues.push({ line: lineNo, reason: 'continuation' });
      afterNoEquals = true; // still inside the run of a broken multi-line value
    } else if (!nameOk) issues.push({ line: lineNo, reason: 'invalid-name' });
    else if (q === 0x60 /* ` */) issues.push({ line: lineNo, reason: 'backtick-quote', name });
    else if (input.subarray(v, vEnd).includes(0x23)) issues.push({ line: lineNo, reason: 'hash-in-unquoted', name });
    else if (vEnd === v && !opts.allowEmpty) issues.push({ line: lineNo, reason: 'empty-value', name });
    else {
      prevUnquoted = { name, value: secretCopy(input.subarray(v, vEnd)), line: lineNo };
      entries.push(prevUnquoted);
    }
    next();
  }
  dropDuplicates(entries, issues);
  issues.sort((a, b) => a.line - b.line);
  return { entries, issues };
}

/** A quoted value starting at `open`: its bytes and the index of the closing quote; null when unterminated. */
function quoted(input: Buffer, open: number, double: boolean): { value: Buffer; close: number } | null {
  const quote = input[open]!;
  let k = open + 1;
  if (!double) {
    const close = input.indexOf(quote, k);
    return close < 0 ? null : { value: secretCopy(input.subarray(k, close)), close };
  }
  const out = allocSecret(input.length - k);
  let n = 0;
  for (; k < input.length; k++) {
    const c = input[k]!;
    if (c === quote) return { value: shrink(out, n), close: k };
    if (c === 0x5c /* \ */ && k + 1 < input.length) {
      const e = input[k + 1]!;
      const m = e === 0x6e ? LF : e === 0x72 ? CR : e === 0x74 ? TAB : e === 0x22 || e === 0x5c ? e : -1;
      if (m >= 0) {
        out[n++] = m;
        k++;
        continue;
      }
    }
    out[n++] = c;
  }
  out.fill(0);
  return null;
}

/** A right-sized copy of out[0..n), wiping `out`. */
function shrink(out: Buffer, n: number): Buffer {
  const b = secretCopy(out.subarray(0, n));
  out.fill(0);
  return b;
}

function dropDuplicates(entries: DotenvEntry[], issues: DotenvIssue[]): void {
  const first = new Map<string, number>();
  const dup = new Set<string>();
  for (const e of entries) {
    const f = first.get(e.name);
    if (f === undefined) first.set(e.name, e.line);
    else {
      dup.add(e.name);
      issues.push({ line: e.line, reason: 'duplicate', name: e.name, firstLine: f });
    }
  }
  // A name whose other occurrence was refused for another reason is a duplicate too.
  for (const is of issues) {
    if (is.reason === 'duplicate' || !is.name) continue;
    const f = first.get(is.name);
    if (f !== undefined) dup.add(is.name);
  }
  if (!dup.size) return;
  for (let k = entries.length - 1; k >= 0; k--) {
    const e = entries[k]!;
    if (!dup.has(e.name)) continue;
    if (first.get(e.name) === e.line) issues.push({ line: e.line, reason: 'duplicate', name: e.name });
    e.value.fill(0);
    entries.splice(k, 1);
  }
}

/** One issue in words: line number, name when it may be shown, reason. Never input bytes. */
export function describeIssue(is: DotenvIssue): string {
  const name = is.name ? ` (${is.name})` : '';
  const first = is.firstLine !== undefined ? `; first on line ${is.firstLine}` : '';
  return `line ${is.line}${name}: ${DOTENV_REASONS[is.reason]}${first}`;
}
