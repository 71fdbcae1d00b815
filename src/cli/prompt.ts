/**
 * The one module that talks to the terminal: no-echo passphrase and value prompts and typed
 * confirmations, always on /dev/tty (never stdin/stdout, so pipes and redirects are safe).
 * Typed bytes are collected in Buffers and wiped; nothing becomes a string except a
 * confirmation word.
 */
import * as fs from 'node:fs';
import * as tty from 'node:tty';
import { SesameError } from '../core/errors.js';

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

/** Reads one line from /dev/tty. echo=false shows nothing while typing. */
export function readTtyLine(label: string, echo: boolean): Promise<Buffer> {
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
  let buf = Buffer.alloc(256);
  let len = 0;
  return new Promise<Buffer>((resolve, reject) => {
    const finish = (err?: SesameError): void => {
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
      const outb = Buffer.from(buf.subarray(0, len));
      buf.fill(0);
      resolve(outb);
    };
    input.on('data', (chunk: Buffer) => {
      for (const c of chunk) {
        if (c === 0x0d || c === 0x0a) {
          chunk.fill(0);
          finish();
          return;
        }
        if (c === 0x03) {
          chunk.fill(0);
          finish(new SesameError('USAGE', 'cancelled'));
          return;
        }
        if (c === 0x04 && len === 0) {
          finish(new SesameError('USAGE', 'cancelled (end of input)'));
          return;
        }
        if (c === 0x7f || c === 0x08) {
          if (len > 0) {
            len--;
            buf[len] = 0;
            if (echo) write('\b \b');
          }
          continue;
        }
        if (c === 0x15) {
          buf.fill(0, 0, len);
          len = 0;
          continue;
        }
        if (len >= MAX) {
          finish(new SesameError('INVALID', 'input too long (over 64 KiB)'));
          return;
        }
        if (len === buf.length) {
          const bigger = Buffer.alloc(buf.length * 2);
          buf.copy(bigger);
          buf.fill(0);
          buf = bigger;
        }
        buf[len++] = c;
        if (echo) write(Buffer.from([c]));
      }
      chunk.fill(0);
    });
  });
}

export function promptHidden(label: string): Promise<Buffer> {
  return readTtyLine(label, false);
}

/** Asks twice; the two must match and be non-empty. */
export async function promptNewSecret(label: string, again: string): Promise<Buffer> {
  const a = await promptHidden(label);
  if (!a.length) throw new SesameError('INVALID', 'empty passphrase; nothing was changed');
  const b = await promptHidden(again);
  const same = a.length === b.length && a.equals(b);
  b.fill(0);
  if (!same) {
    a.fill(0);
    throw new SesameError('INVALID', 'the two entries do not match; nothing was changed');
  }
  return a;
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
    throw new SesameError('LOCKED', 'no terminal to show it on');
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
