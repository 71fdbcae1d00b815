/**
 * Matching through ANSI escape sequences: a value printed with colour codes inside it
 * (`s3cr` ESC[1m `et`) is still one value on the screen, so it is masked.
 *
 * The stream is split into text (the "view") and escape sequences (ECMA-48, 7-bit):
 * CSI `ESC [ params intermediates final`, the string controls OSC `ESC ]`, DCS `ESC P`,
 * SOS `ESC X`, PM `ESC ^`, APC `ESC _` ended by BEL or ST (`ESC \`), and the short
 * `ESC intermediates final` forms. The matcher sees only the view. Each escape is re-emitted
 * at its place: one that falls inside a hit goes out right after the marker, in order, so
 * the terminal's colour state stays what the program meant. An escape's own bytes are masked
 * on their own (a value in a window title, a hyperlink or an OSC 52 clipboard write).
 *
 * Limits (docs/redaction.md): a CSI longer than 256 bytes or a string control longer than
 * 4096 bytes is not an escape (its bytes are text); when more than 64 KiB of escapes wait
 * behind held text, the held text is flushed first, so a value split by that much is not
 * joined. A value split between an escape's inside and the text is not masked.
 */
import { allocSecret } from '../bytes.js';
import type { Automaton } from './automaton.js';
import { Matcher, type Sink } from './matcher.js';
import { copyBytes, zeroBytes } from './copy.js';

const ESC = 0x1b;
const CSI_MAX = 256;
const STR_MAX = 4096;
const QUEUE_MAX = 64 * 1024;

const enum St {
  Ground,
  Esc,
  Inter,
  Csi,
  Str,
  StrEsc,
}

/**
 * The next ESC in buf[i, n), or -1. A terminal stream's escapes come a few dozen bytes apart:
 * a short loop finds the next one for less than a native indexOf call costs.
 */
function nextEsc(buf: Buffer, i: number, n: number): number {
  const near = Math.min(n, i + 64);
  for (; i < near; i++) if (buf[i] === ESC) return i;
  return i < n ? buf.indexOf(ESC, i) : -1;
}

/** A Matcher over the text of a stream, with its escape sequences put back in place. */
export class AnsiView {
  private readonly matcher: Matcher;
  private readonly escMatcher: Matcher;
  // Queued escapes: view position, and bytes in `store` (allocSecret, reused once emptied).
  private readonly qPos: number[] = [];
  private readonly qOff: number[] = [];
  private readonly qLen: number[] = [];
  private qHead = 0;
  private store: Buffer = allocSecret(4096);
  private storeEnd = 0;
  private viewPos = 0; // view bytes given to the matcher so far
  private view: Buffer = allocSecret(0); // this push's text, gathered for one matcher.push
  private viewLen = 0;
  private st = St.Ground;
  private esc = allocSecret(STR_MAX + 1);
  private escLen = 0;

  constructor(
    private readonly a: Automaton,
    private readonly out: Sink,
  ) {
    this.escMatcher = new Matcher(a, out);
    this.matcher = new Matcher(a, {
      plain: (buf, from, to, at) => {
        let p = from;
        while (this.qHead < this.qPos.length && this.qPos[this.qHead]! < at + to) {
          const k = this.qPos[this.qHead]! - at;
          if (k > p) out.plain(buf, p, k, at);
          p = Math.max(p, k);
          this.emitEscape();
        }
        if (to > p) out.plain(buf, p, to, at);
      },
      hit: (owner, start, end) => {
        while (this.qHead < this.qPos.length && this.qPos[this.qHead]! <= start) this.emitEscape();
        out.hit(owner, start, end);
        while (this.qHead < this.qPos.length && this.qPos[this.qHead]! < end) this.emitEscape();
      },
    });
  }

  /** Splits `chunk` into text and escapes; the caller keeps the chunk. */
  push(chunk: Buffer): void {
    if (this.st === St.Ground && chunk.indexOf(ESC) < 0) {
      this.matcher.push(chunk);
      this.viewPos += chunk.length;
      return;
    }
    this.parse(chunk);
    this.drain();
  }

  /** Ends the stream: an unfinished escape is text; all text and escapes go out. */
  flush(): void {
    while (this.st !== St.Ground) this.abort();
    this.drain();
    this.matcher.flush();
    while (this.qHead < this.qPos.length) this.emitEscape();
  }

  /** Zeroes held text and queued escapes. */
  wipe(): void {
    this.matcher.wipe();
    this.escMatcher.wipe();
    this.store.fill(0);
    this.reset();
    this.esc.fill(0);
    this.view.fill(0);
    this.viewLen = 0;
  }

  /** Gives the text gathered so far to the matcher in one piece, then wipes the copy. */
  private drain(): void {
    if (this.viewLen === 0) return;
    this.matcher.push(this.view.subarray(0, this.viewLen));
    this.viewPos += this.viewLen;
    this.view.fill(0, 0, this.viewLen);
    this.viewLen = 0;
  }

  private text(buf: Buffer, from: number, to: number): void {
    if (to <= from) return;
    const n = this.viewLen + to - from;
    if (n > this.view.length) {
      const bigger = allocSecret(Math.max(n, 2 * this.view.length, 4096));
      this.view.copy(bigger, 0, 0, this.viewLen);
      this.view.fill(0);
      this.view = bigger;
    }
    this.viewLen += copyBytes(buf, from, to, this.view, this.viewLen);
  }

  private parse(buf: Buffer): void {
    let i = 0;
    const n = buf.length;
    while (i < n) {
      if (this.st === St.Ground) {
        const e = nextEsc(buf, i, n);
        if (e < 0) {
          this.text(buf, i, n);
          return;
        }
        this.text(buf, i, e);
        this.st = St.Esc;
        this.escLen = 0;
        this.esc[this.escLen++] = ESC;
        i = e + 1;
        continue;
      }
      const b = buf[i++]!;
      this.esc[this.escLen++] = b;
      switch (this.st) {
        case St.Esc:
          if (b === 0x5b) this.st = St.Csi;
          else if (b === 0x5d || b === 0x50 || b === 0x58 || b === 0x5e || b === 0x5f) this.st = St.Str;
          else if (b >= 0x20 && b <= 0x2f) this.st = St.Inter;
          else if (b >= 0x30 && b <= 0x7e) this.complete();
          else this.abort();
          break;
        case St.Inter:
          if (b >= 0x30 && b <= 0x7e) this.complete();
          else if (b < 0x20 || b > 0x2f || this.escLen >= CSI_MAX) this.abort();
          break;
        case St.Csi:
          if (b >= 0x40 && b <= 0x7e) this.complete();
          else if (b < 0x20 || b > 0x3f || this.escLen >= CSI_MAX) this.abort();
          break;
        case St.Str:
          if (b === 0x07) this.complete();
          else if (b === ESC) this.st = St.StrEsc;
          else if (this.escLen >= STR_MAX) this.abort();
          break;
        case St.StrEsc:
          if (b === 0x5c) this.complete();
          else this.abort();
          break;
        default:
          break;
      }
    }
  }

  private complete(): void {
    const n = this.escLen;
    if (this.storeEnd + n > this.store.length) {
      const bigger = allocSecret(Math.max(2 * this.store.length, this.storeEnd + n));
      this.store.copy(bigger, 0, 0, this.storeEnd);
      this.store.fill(0);
      this.store = bigger;
    }
    copyBytes(this.esc, 0, n, this.store, this.storeEnd);
    zeroBytes(this.esc, 0, n);
    this.escLen = 0;
    this.st = St.Ground;
    this.qPos.push(this.viewPos + this.viewLen);
    this.qOff.push(this.storeEnd);
    this.qLen.push(n);
    this.storeEnd += n;
    if (this.storeEnd - this.qOff[this.qHead]! > QUEUE_MAX) {
      this.drain();
      this.matcher.flush();
      while (this.qHead < this.qPos.length) this.emitEscape();
    }
  }

  /** Forgets the emptied queue and zeroes its store. */
  private reset(): void {
    this.store.fill(0, 0, this.storeEnd);
    this.storeEnd = 0;
    this.qPos.length = 0;
    this.qOff.length = 0;
    this.qLen.length = 0;
    this.qHead = 0;
  }

  /** Not an escape after all: ESC is a text byte, and what followed it is parsed again. */
  private abort(): void {
    const rest = allocSecret(this.escLen - 1);
    this.esc.copy(rest, 0, 1, this.escLen);
    this.esc.fill(0, 0, this.escLen);
    this.escLen = 0;
    this.st = St.Ground;
    this.text(Buffer.of(ESC), 0, 1);
    this.parse(rest);
    rest.fill(0);
  }

  /** The next queued escape, its own bytes masked. */
  private emitEscape(): void {
    const off = this.qOff[this.qHead]!;
    const len = this.qLen[this.qHead++]!;
    if (len < this.a.minLen) this.out.plain(this.store, off, off + len, 0);
    else {
      this.escMatcher.push(this.store.subarray(off, off + len));
      this.escMatcher.flush();
    }
    if (this.qHead === this.qPos.length) this.reset();
  }
}
