/**
 * Handing the master key from the foreground `agent start --background` to the detached
 * agent: never argv, never the environment, never a file, and never an inherited fd.
 *
 * An fd inherited at spawn exists in the child before the child can harden itself, and
 * until it has (PR_SET_DUMPABLE 0) any process of the same uid may duplicate it with
 * pidfd_getfd and read the key. So the channel is opened only afterwards, by the child:
 *
 *   parent  openKeyOffer(dir): listens on a fresh socket in a new 0700 directory with a
 *           random name, and passes the *path* (not a secret) to the child in argv;
 *   child   hardens itself, then receiveKey(path, ppid): connects, checks with the
 *           kernel's peer credentials that the listener is its parent (pid and uid), and
 *           reads exactly 32 bytes straight into guarded memory, then expects end-of-file;
 *   parent  send(master, childPid): on each connection checks SO_PEERCRED; anything but
 *           exactly that pid with our uid is closed at once and gets nothing. The child
 *           gets the 32 bytes, the parent wipes its copy and removes the directory.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { SesameError } from '../errors.js';
import { SecureKey, KEY_BYTES } from '../crypto/sodium.js';
import { connectUnix, peerCred, setRecvTimeout, type PeerCred } from '../os/native.js';
import { allocSecret } from '../bytes.js';

export interface KeyOffer {
  /** The socket path to pass to the child (not a secret). */
  readonly path: string;
  /** Connections refused so far (wrong pid or uid, or before `send`). */
  readonly refused: number;
  /**
   * Sends the key to the first connection whose kernel peer is exactly `pid` with our uid,
   * then closes the offer. Resolves once the bytes are written. Does not dispose `master`.
   */
  send(master: SecureKey, pid: number): Promise<void>;
  /** Stops listening and removes the socket and its directory; idempotent. */
  close(): void;
}

type HandleWithFd = { _handle?: { fd?: number } };
const myUid = (): number => (typeof process.getuid === 'function' ? process.getuid() : -1);

/** Listens on `<base>/.sesame-handoff-XXXXXX/k` (the directory is 0700 and ours). */
export async function openKeyOffer(base: string): Promise<KeyOffer> {
  const dir = fs.mkdtempSync(path.join(base, '.sesame-handoff-'));
  fs.chmodSync(dir, 0o700);
  const sockPath = path.join(dir, 'k');
  let refused = 0;
  let closed = false;
  let want: { pid: number; master: SecureKey; resolve: () => void; reject: (e: Error) => void } | undefined;
  const server = net.createServer({ pauseOnConnect: true });
  const close = (): void => {
    if (closed) return;
    closed = true;
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  server.on('connection', (c) => {
    c.on('error', () => {});
    let cred: PeerCred | null = null;
    try {
      const fd = (c as unknown as HandleWithFd)._handle?.fd;
      if (typeof fd === 'number' && fd >= 0) cred = peerCred(fd);
    } catch {
      cred = null; // the kernel cannot tell: refuse
    }
    if (closed || !want || !cred || cred.pid !== want.pid || cred.uid !== myUid()) {
      refused++;
      c.destroy();
      return;
    }
    const w = want;
    want = undefined;
    close(); // one key, one reader: nobody connects after this
    const copy = allocSecret(KEY_BYTES); // off the movable heap, wiped below
    w.master.use((k) => k.copy(copy));
    c.end(copy, () => {
      copy.fill(0);
      w.resolve();
    });
    c.once('error', (e) => {
      copy.fill(0);
      w.reject(new SesameError('ERROR', 'could not hand the key to the agent process', { cause: e, hint: 'see agent.log in the sesame home' }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sockPath, () => {
      resolve();
    });
  }).catch((e: unknown) => {
    close();
    throw new SesameError('ERROR', 'could not open the key hand-off socket', { cause: e });
  });
  return {
    path: sockPath,
    get refused() {
      return refused;
    },
    send(master, pid) {
      if (closed) return Promise.reject(new SesameError('ERROR', 'the key hand-off is closed'));
      return new Promise((resolve, reject) => (want = { pid, master, resolve, reject }));
    },
    close,
  };
}

/** How long the child waits for the key once connected. */
const RECEIVE_TIMEOUT_S = 10;

/**
 * The child's side: connects to `sockPath`, refuses unless the listener is `parentPid`
 * with our uid, reads exactly one key into guarded memory, and expects end-of-file.
 * Call only after the process has hardened itself.
 */
export function receiveKey(sockPath: string, parentPid: number): SecureKey {
  const fd = connectUnix(sockPath);
  try {
    const cred = peerCred(fd);
    if (cred.pid !== parentPid || cred.uid !== myUid()) {
      throw new SesameError('DENIED', `the key hand-off socket is not held by the starting process (pid ${String(cred.pid)})`);
    }
    setRecvTimeout(fd, RECEIVE_TIMEOUT_S);
    return readKeyFromFd(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads exactly one key from `fd` into guarded memory (does not close `fd`). */
function readKeyFromFd(fd: number): SecureKey {
  const key = SecureKey.alloc();
  try {
    key.write((b) => {
      readExactly(fd, b);
    });
    const extra = Buffer.alloc(1);
    if (readSome(fd, extra, 0) !== 0) throw new SesameError('ERROR', 'the key hand-off carried more than one key');
    return key;
  } catch (e) {
    key.dispose();
    throw e;
  }
}

function readExactly(fd: number, b: Buffer): void {
  let off = 0;
  while (off < b.length) {
    const n = readSome(fd, b, off);
    if (n === 0) throw new SesameError('ERROR', `the key hand-off closed after ${off} of ${b.length} bytes`);
    off += n;
  }
}

function readSome(fd: number, b: Buffer, off: number): number {
  for (;;) {
    try {
      return fs.readSync(fd, b, off, b.length - off, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EINTR') continue;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') throw new SesameError('ERROR', `no key arrived within ${RECEIVE_TIMEOUT_S} s`);
      if (code === 'EOF') return 0;
      throw e;
    }
  }
}
