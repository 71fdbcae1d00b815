/**
 * Streaming leftmost-longest matching over an Aho-Corasick automaton.
 *
 * Rule: at the leftmost position where any pattern starts, the longest pattern starting there
 * is replaced; scanning resumes right after it (hits never overlap). A candidate hit is final
 * once every partial match still alive in the automaton starts after it (`maxExt`); then the
 * bytes after it are scanned again from the root, so a hit that overlapped the chosen one is
 * dropped and one that follows it is found. Only the bytes a live partial match could still
 * claim are held back: at most the longest pattern − 1.
 */
import { allocSecret } from '../bytes.js';
import type { Automaton } from './automaton.js';
import { copyBytes, zeroBytes } from './copy.js';

/** Where the matcher sends its output, in order, in view positions (bytes pushed so far). */
export interface Sink {
  /** Bytes `buf[from, to)`, which start at absolute position `at`. */
  plain(buf: Buffer, from: number, to: number, at: number): void;
  /** A hit of needle `owner` over absolute positions `[start, end)`. */
  hit(owner: number, start: number, end: number): void;
}

/** The streaming matcher: push bytes, flush at the end. Its held bytes are wiped as it goes. */
export class Matcher {
  private readonly held: Buffer; // bytes not emitted yet, all scanned: held[0, heldLen)
  private heldLen = 0;
  private scratch: Buffer = allocSecret(0); // held + the new chunk, wiped after each push
  private base = 0; // absolute position of held[0]
  private state = 0;
  private candS = -1; // absolute start of the candidate hit, or -1
  private candL = 0;
  private candO = 0;

  constructor(
    private readonly a: Automaton,
    private readonly sink: Sink,
  ) {
    this.held = allocSecret(Math.max(a.maxLen, 1));
  }

  /** Scans `chunk` (the caller keeps and may wipe it; nothing refers to it afterwards). */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const h = this.heldLen;
    if (h === 0) {
      this.scan(chunk, 0, chunk.length, false);
      return;
    }
    const n = h + chunk.length;
    if (this.scratch.length < n) {
      this.scratch.fill(0);
      this.scratch = allocSecret(Math.max(n, 2 * this.scratch.length));
    }
    const work = this.scratch;
    this.held.copy(work, 0, 0, h);
    chunk.copy(work, h);
    this.scan(work, h, n, false);
    work.fill(0, 0, n);
  }

  /** Ends the stream: every candidate is final, every held byte goes out. */
  flush(): void {
    this.scan(this.held, this.heldLen, this.heldLen, true);
  }

  /** Zeroes the held bytes (secret prefixes may sit there) and the scratch space. */
  wipe(): void {
    this.held.fill(0);
    this.heldLen = 0;
    this.scratch.fill(0);
  }

  /** Scans work[start, n) after the held bytes work[0, start), already scanned. */
  private scan(work: Buffer, start: number, n: number, final: boolean): void {
    const { row, dense, single, singleChild, fail, depth, maxExt, term, dictOut, hasOut } = this.a;
    const base = this.base;
    let s = this.state;
    let i = start;
    let emitted = 0;
    let cS = this.candS >= 0 ? this.candS - base : -1;
    let cL = this.candL;
    let cO = this.candO;
    for (;;) {
      // Fast path: no candidate; step until some pattern ends.
      if (cS < 0) {
        i = this.a.run(work, i, n, s);
        s = this.a.last[0]!;
      } else if (i < n) {
        const b = work[i++]!;
        for (;;) {
          const r = row[s]!;
          if (r >= 0) {
            s = dense[r + b]!;
            break;
          }
          if (single[s] === b) {
            s = singleChild[s]!;
            break;
          }
          s = fail[s]!;
        }
      }
      if (hasOut[s] !== 0) {
        // The longest pattern ending here that starts after the last hit is this end's best.
        for (let o = term[s]! >= 0 ? s : dictOut[s]!; o >= 0; o = dictOut[o]!) {
          const L = depth[o]!;
          const st = i - L;
          if (st < emitted) continue;
          if (cS < 0 || st < cS || (st === cS && L > cL)) {
            cS = st;
            cL = L;
            cO = term[o]!;
          }
          break;
        }
      }
      const done = i >= n;
      if (cS >= 0 && (i - maxExt[s]! > cS || (done && final))) {
        this.sink.plain(work, emitted, cS, base);
        this.sink.hit(cO, base + cS, base + cS + cL);
        emitted = cS + cL;
        i = emitted;
        s = 0;
        cS = -1;
        continue;
      }
      if (done) break;
    }
    // Bytes no live partial match can claim go out now; the rest is held.
    const safe = final ? n : Math.max(emitted, i - maxExt[s]!);
    this.sink.plain(work, emitted, safe, base);
    // The unscanned-for-good tail moves to held (empty on flush), and the rest of held is zeroed.
    zeroBytes(this.held, copyBytes(work, safe, n, this.held, 0), this.held.length);
    this.heldLen = n - safe;
    this.base = base + safe;
    this.state = final ? 0 : s;
    this.candS = cS >= 0 ? base + cS : -1;
    this.candL = cL;
    this.candO = cO;
  }
}
