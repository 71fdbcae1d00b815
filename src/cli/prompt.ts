/**
 * The one module that talks to the terminal: no-echo passphrase and value prompts and typed
 * confirmations, always on /dev/tty (never stdin/stdout, so pipes and redirects are safe).
 * Typed bytes are collected in Buffers and wiped; nothing becomes a string except a
 * confirmation word.
 */
import * as fs from 'node:fs';
import * as tty from 'node:tty';
import { SesameError } from '../core/errors.js';
import { allocSecret } from '../core/bytes.js';

/** true when a controlling terminal can be opened. */
export function hasTty(): boolean {
  try {
    fs.closeSync(fs.openSync('/dev/tty', 'r+'));
    return true;
  } catch {
    return false;
  }
}

const MAX = 64 * 1024;
/** How long after Enter more input counts as "pasted with the line" (ms). */
const PASTE_GRACE_MS = 60;
/** How long the terminal must stay quiet before a refused paste is considered drained (ms). */
const DRAIN_QUIET_MS = 150;
const MAX_MULTILINE = 1024 * 1024;

export interface LineOptions {
  /**
   * Refuse (INVALID) when more input is already pending after Enter, i.e. a multi-line
   * paste; the rest of the paste is read and wiped so it never reaches the shell.
   */
  refusePending?: boolean;
  /** Read lines until a line holding only "." or Ctrl-D at a line start; lines joined by "\n". */
  multiline?: boolean;
}

const MULTILINE_PASTE = (): SesameError =>
  new SesameError('INVALID', 'the value you pasted has more than one line; nothing was stored', {
    hint: 'use `sesame set KEY --multiline` (end with a line holding only "." or Ctrl-D), or pipe the value on stdin: `sesame set KEY < file`',
  });

/** Ctrl-C at a prompt: exit 130 like a shell's interrupted command (output.ts maps `detail.interrupted`). */
export function interrupted(): SesameError {
  return new SesameError('ERROR', 'cancelled (Ctrl-C)', { hint: 'nothing was changed; run the command again when ready', detail: { interrupted: true } });
}

/** Reads one line (or, multiline, a block) from /dev/tty. echo=false shows nothing while typing. */
export function readTtyLine(label: string, echo: boolean, opts: LineOptions = {}): Promise<Buffer> {
  let rfd: number;
  let wfd: number;
  try {
    rfd = fs.openSync('/dev/tty', 'r');
    wfd = fs.openSync('/dev/tty', 'w');
  } catch {
    return Promise.reject(new SesameError('LOCKED', 'no terminal to prompt on', { hint: 'provide the input on stdin or through another source' }));
  }
  const input = new tty.ReadStream(rfd);
  const write = (s: string | Buffer): void => {
    try {
      fs.writeSync(wfd, typeof s === 'string' ? Buffer.from(s) : s);
    } catch {
      /* terminal gone */
    }
  };
  write(label);
  input.setRawMode(true);
  let buf = allocSecret(256);
  let len = 0;
  let lineStart = 0; // multiline: where the current line begins in buf
  let lastCR = false; // a CR was just taken as a line end (a following LF is the same end)
  const max = opts.multiline ? MAX_MULTILINE : MAX;
  return new Promise<Buffer>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    // Changed from the callbacks below; an object keeps the compiler from narrowing it to its first value.
    const st: { state: 'reading' | 'ending' | 'draining' } = { state: 'reading' };
    const stateNow = (): typeof st.state => st.state; // read after a call that may change it
    const finish = (err?: SesameError): void => {
      if (timer) clearTimeout(timer);
      input.removeAllListeners('data');
      try {
        input.setRawMode(false);
      } catch {
        /* ignore */
      }
      input.destroy();
      write('\n');
      try {
        fs.closeSync(wfd);
      } catch {
        /* ignore */
      }
      if (err) {
        buf.fill(0);
        reject(err);
        return;
      }
      const outb = allocSecret(len);
      buf.copy(outb, 0, 0, len);
      buf.fill(0);
      resolve(outb);
    };
    const drain = (): void => {
      st.state = 'draining';
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        finish(MULTILINE_PASTE());
      }, DRAIN_QUIET_MS);
    };
    const lineEnd = (): boolean => {
      if (!opts.multiline) {
        if (!opts.refusePending) return true;
        st.state = 'ending'; // wait briefly: more input now means the line was part of a paste
        timer = setTimeout(() => {
          finish();
        }, PASTE_GRACE_MS);
        return false;
      }
      if (len - lineStart === 1 && buf[lineStart] === 0x2e /* . */) {
        len = lineStart > 0 ? lineStart - 1 : 0; // drop "." and the newline before it
        return true;
      }
      push(0x0a);
      lineStart = len;
      return false;
    };
    const push = (c: number): void => {
      if (len === buf.length) {
        const bigger = allocSecret(buf.length * 2);
        buf.copy(bigger);
        buf.fill(0);
        buf = bigger;
      }
      buf[len++] = c;
    };
    input.on('data', (chunk: Buffer) => {
      if (st.state !== 'reading') {
        chunk.fill(0);
        drain(); // more input arrived right after Enter: a multi-line paste
        return;
      }
      for (let idx = 0; idx < chunk.length; idx++) {
        const c = chunk[idx]!;
        if (c === 0x0a && lastCR) {
          lastCR = false;
          continue;
        }
        lastCR = c === 0x0d;
        if (c === 0x0d || c === 0x0a) {
          if (!opts.multiline && opts.refusePending && chunk.subarray(idx + 1).some((x) => x !== 0x0a && x !== 0x0d)) {
            chunk.fill(0);
            drain();
            return;
          }
          if (lineEnd()) {
            chunk.fill(0);
            finish();
            return;
          }
          if (stateNow() !== 'reading') {
            // lineEnd() moved on to waiting for a paste's rest
            chunk.fill(0);
            return;
          }
          continue;
        }
        if (c === 0x03) {
          chunk.fill(0);
          finish(interrupted());
          return;
        }
        if (c === 0x04 && len === lineStart) {
          chunk.fill(0);
          if (opts.multiline && len > 0) {
            len = lineStart - 1; // the block ends at the last newline
            finish();
          } else finish(new SesameError('USAGE', 'cancelled (end of input)', { hint: 'type the input and press Enter; Ctrl-D ends the input' }));
          return;
        }
        if (c === 0x7f || c === 0x08) {
          if (len > lineStart) {
            len--;
            buf[len] = 0;
            if (echo) write('\b \b');
          }
          continue;
        }
        if (c === 0x15) {
          buf.fill(0, lineStart, len);
          len = lineStart;
          continue;
        }
        if (len >= max) {
          chunk.fill(0);
          finish(new SesameError('INVALID', `input too long (over ${max / 1024} KiB)`, { hint: 'pipe a long value on stdin instead' }));
          return;
        }
        push(c);
        if (echo) write(Buffer.from([c]));
      }
      chunk.fill(0);
    });
  });
}

export function promptHidden(label: string): Promise<Buffer> {
  return readTtyLine(label, false);
}

/**
 * Asks for a secret value without echo. One line by default: a multi-line paste is refused
 * (INVALID, and the rest of the paste is swallowed) rather than cut at its first line.
 * `multiline`: lines until one holding only "." or Ctrl-D at a line start (see docs/cli.md).
 */
export function promptValue(key: string, opts: { multiline?: boolean } = {}): Promise<Buffer> {
  if (opts.multiline) return readTtyLine(`Value for ${key} (end with a line holding only "." or Ctrl-D):\n`, false, { multiline: true });
  return readTtyLine(`Value for ${key}: `, false, { refusePending: true });
}

/**
 * Asks twice; the two must match and be non-empty. A mismatch asks again (three tries in
 * all), then INVALID; nothing typed is kept but the accepted passphrase.
 */
export async function promptNewSecret(label: string, again: string, tries = 3): Promise<Buffer> {
  for (let n = 1; ; n++) {
    const a = await promptHidden(label);
    if (!a.length) throw new SesameError('INVALID', 'empty passphrase; nothing was changed', { hint: 'type a passphrase (long: several uncommon words), or press Ctrl-C to stop' });
    let b: Buffer;
    try {
      b = await promptHidden(again);
    } catch (e) {
      a.fill(0);
      throw e;
    }
    const same = a.length === b.length && a.equals(b);
    b.fill(0);
    if (same) return a;
    a.fill(0);
    if (n >= tries) throw new SesameError('INVALID', 'the two entries do not match; nothing was changed', { hint: 'run the command again and type the same passphrase twice' });
    writeTtyText(`the two entries do not match; try again (${tries - n} ${tries - n === 1 ? 'try' : 'tries'} left)\n`);
  }
}

/** A message on the terminal (never stdout); nothing when there is none. */
function writeTtyText(s: string): void {
  try {
    writeTty(Buffer.from(s));
  } catch {
    /* no terminal */
  }
}

/**
 * Waits for one keypress on the terminal (raw, nothing echoed; the key is wiped), after
 * showing `label`. Resolves on any key, Ctrl-C included (the caller clears the screen
 * either way).
 */
export function waitKey(label: string): Promise<void> {
  let rfd: number;
  try {
    rfd = fs.openSync('/dev/tty', 'r');
  } catch {
    return Promise.resolve();
  }
  writeTtyText(label);
  const input = new tty.ReadStream(rfd);
  input.setRawMode(true);
  return new Promise<void>((resolve) => {
    input.once('data', (chunk: Buffer) => {
      chunk.fill(0);
      try {
        input.setRawMode(false);
      } catch {
        /* ignore */
      }
      input.destroy();
      resolve();
    });
  });
}

/**
 * Writes to the terminal, never to stdout (`passphrase reveal`): a redirected or piped
 * stdout never receives it. LOCKED when there is no terminal. The caller wipes `data`.
 */
export function writeTty(data: Buffer): void {
  let fd: number;
  try {
    fd = fs.openSync('/dev/tty', 'w');
  } catch {
    throw new SesameError('LOCKED', 'no terminal to show it on', { hint: 'run it in a terminal' });
  }
  try {
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
  } finally {
    fs.closeSync(fd);
  }
}

/** Requires the user to type `word`; false otherwise. */
export async function confirmTyped(question: string, word: string): Promise<boolean> {
  const ans = await readTtyLine(`${question}\nType ${word} to confirm: `, true);
  const ok = ans.toString('utf8').trim() === word;
  ans.fill(0);
  return ok;
}
