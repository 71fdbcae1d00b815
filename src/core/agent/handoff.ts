/**
 * Handing the master key from the foreground `agent start --background` to the detached
 * agent through an inherited pipe: never argv, never the environment, never a file.
 *
 * The sender writes exactly the 32 key bytes and closes its end; the receiver reads exactly
 * 32 bytes straight into guarded memory and then expects end-of-file (anything more is
 * refused). The sender's temporary copy is wiped once the kernel has it.
 */
import * as fs from 'node:fs';
import type { Writable } from 'node:stream';
import { SesameError } from '../errors.js';
import { SecureKey } from '../crypto/sodium.js';

/** Writes the key to `pipe` and ends it. Resolves once written. Does not dispose `master`. */
export function sendKey(pipe: Writable, master: SecureKey): Promise<void> {
  const copy = master.use((k) => Buffer.from(k));
  return new Promise((resolve, reject) => {
    pipe.once('error', (e) => {
      copy.fill(0);
      reject(new SesameError('ERROR', 'could not hand the key to the agent process', { cause: e, hint: 'see agent.log in the sesame home' }));
    });
    pipe.end(copy, () => {
      copy.fill(0);
      resolve();
    });
  });
}

/** Reads exactly one key from `fd` into guarded memory and closes `fd`. */
export function readKeyFromFd(fd: number): SecureKey {
  const key = SecureKey.alloc();
  try {
    key.write((b) => readExactly(fd, b));
    const extra = Buffer.alloc(1);
    if (readSome(fd, extra, 0) !== 0) throw new SesameError('ERROR', 'the key pipe carried more than one key');
    return key;
  } catch (e) {
    key.dispose();
    throw e;
  } finally {
    fs.closeSync(fd);
  }
}

function readExactly(fd: number, b: Buffer): void {
  let off = 0;
  while (off < b.length) {
    const n = readSome(fd, b, off);
    if (n === 0) throw new SesameError('ERROR', `the key pipe closed after ${off} of ${b.length} bytes`);
    off += n;
  }
}

function readSome(fd: number, b: Buffer, off: number): number {
  for (;;) {
    try {
      return fs.readSync(fd, b, off, b.length - off, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      else if (code === 'EOF') return 0;
      else throw e;
    }
  }
}
