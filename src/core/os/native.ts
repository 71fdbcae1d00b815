/**
 * The one native-syscall door. Nothing else in sesame imports koffi.
 *
 * Each function loads libc lazily on first use, so commands that never need a syscall
 * (notably the agent client path) never pay for koffi.
 *
 * Linux is the supported and tested platform. macOS branches exist for peer credentials
 * and are untested here (documented in docs/threat-model.md).
 */
import { createRequire } from 'node:module';
import { allocSecret } from '../bytes.js';
import { SesameError } from '../errors.js';

const require = createRequire(import.meta.url);
type Koffi = typeof import('koffi');
type Fn = (...args: unknown[]) => unknown;

let K: Koffi | undefined;
let libc: ReturnType<Koffi['load']> | undefined;
const fns = new Map<string, Fn>();

/**
 * koffi's prebuilt binary is loaded directly when its platform package is there (its JS
 * loader costs several ms of startup, which `sesame run` pays on every call); otherwise
 * through the koffi package as usual.
 */
function koffi(): Koffi {
  if (K) return K;
  if (process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64')) {
    try {
      const direct = require(`@koromix/koffi-linux-${process.arch}/linux_${process.arch}/koffi.node`) as Koffi & { version?: string };
      if (typeof direct.load === 'function' && typeof direct.errno === 'function') K = direct;
    } catch {
      /* musl, another layout: the package's own loader below */
    }
  }
  K ??= require('koffi') as Koffi;
  return K;
}

function fn(decl: string): Fn {
  let f = fns.get(decl);
  if (!f) {
    if (!libc) libc = koffi().load(process.platform === 'darwin' ? 'libc.dylib' : 'libc.so.6');
    f = libc.func(decl);
    fns.set(decl, f);
  }
  return f;
}

/** The calling thread's errno after the last native call made through this module (read it immediately). */
export function errno(): number {
  return koffi().errno();
}

const isLinux = process.platform === 'linux';
/** The errno numbers this module checks, for Linux (and the BSD/macOS values where they differ). */
export const E = {
  EINTR: 4,
  EAGAIN: isLinux ? 11 : 35,
  EWOULDBLOCK: isLinux ? 11 : 35,
  ENOENT: 2,
  EACCES: 13,
  EPERM: 1,
  ENOSYS: isLinux ? 38 : 78,
  ENOKEY: 126,
  EKEYEXPIRED: 127,
  EKEYREVOKED: 128,
} as const;

// ---------------------------------------------------------------- flock

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

/** Tries to take an exclusive flock without blocking. true = taken, false = held elsewhere. */
export function flockTryExclusive(fd: number): boolean {
  for (;;) {
    const r = fn('int flock(int fd, int op)')(fd, LOCK_EX | LOCK_NB) as number;
    if (r === 0) return true;
    const e = errno();
    if (e === E.EINTR) continue;
    if (e === E.EWOULDBLOCK) return false;
    throw new SesameError('ERROR', `flock failed (errno ${e})`);
  }
}

/** Releases a flock on `fd` (LOCK_UN). Never throws on a failed unlock: closing the fd releases it anyway. */
export function flockUnlock(fd: number): void {
  fn('int flock(int fd, int op)')(fd, LOCK_UN);
}

// ---------------------------------------------------------------- fd flags, exec

const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const FD_CLOEXEC = 1;
const O_NONBLOCK = isLinux ? 0o4000 : 0x0004;

/** Clears close-on-exec and O_NONBLOCK on fd (used on 0-2 before execve). */
export function makeInheritableBlocking(fd: number): void {
  const fcntl = fn('int fcntl(int fd, int cmd, ...)');
  const fdflags = fcntl(fd, F_GETFD, 'int', 0) as number;
  if (fdflags < 0) return; // closed fd: nothing to do
  if (fdflags & FD_CLOEXEC) fcntl(fd, F_SETFD, 'int', fdflags & ~FD_CLOEXEC);
  const flflags = fcntl(fd, F_GETFL, 'int', 0) as number;
  if (flflags >= 0 && flflags & O_NONBLOCK) fcntl(fd, F_SETFL, 'int', flflags & ~O_NONBLOCK);
}

/**
 * Replaces this process with `path`. argv and env entries may be Buffers (so secret
 * values need not become strings). Resets SIGPIPE (Node ignores it) and the signal mask
 * so the command gets default signal behaviour. Returns only on failure (the errno).
 */
export function execve(path: string, argv: (string | Buffer)[], env: (string | Buffer)[]): number {
  const nul = (x: string | Buffer): Buffer => {
    const b = typeof x === 'string' ? Buffer.from(x, 'utf8') : x;
    const out = allocSecret(b.length + 1);
    b.copy(out);
    return out;
  };
  const argvB = argv.map(nul);
  const envB = env.map(nul);
  const ptrs = (list: Buffer[]): unknown[] => [...list, null];
  // SIG_DFL for SIGPIPE (13) and SIGXFSZ (25 on Linux); empty signal mask.
  const signal = fn('void *signal(int sig, void *handler)');
  signal(13, null);
  if (isLinux) signal(25, null);
  const set = Buffer.alloc(128);
  fn('int sigprocmask(int how, void *set, void *oldset)')(isLinux ? 2 : 3, set, null);
  const r = fn('int execve(const char *path, void **argv, void **envp)')(path, ptrs(argvB), ptrs(envB)) as number;
  const e = errno();
  for (const b of envB) b.fill(0);
  return r === 0 ? 0 : e;
}

// ---------------------------------------------------------------- peer credentials

export interface PeerCred {
  pid: number | null;
  uid: number;
  gid: number;
}

/**
 * The kernel's view of the process at the other end of a connected Unix socket:
 * SO_PEERCRED on Linux; getpeereid + LOCAL_PEERPID on macOS. Throws when the kernel
 * cannot tell (the caller must then deny: fail closed).
 */
export function peerCred(fd: number): PeerCred {
  if (isLinux) {
    const out = Buffer.alloc(12);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(12);
    const r = fn('int getsockopt(int fd, int level, int name, void *val, void *len)')(fd, 1 /* SOL_SOCKET */, 17 /* SO_PEERCRED */, out, len) as number;
    if (r !== 0) throw new SesameError('DENIED', `cannot read peer credentials (errno ${errno()})`);
    return { pid: out.readInt32LE(0), uid: out.readUInt32LE(4), gid: out.readUInt32LE(8) };
  }
  if (process.platform === 'darwin') {
    const uid = Buffer.alloc(4);
    const gid = Buffer.alloc(4);
    const r = fn('int getpeereid(int fd, void *uid, void *gid)')(fd, uid, gid) as number;
    if (r !== 0) throw new SesameError('DENIED', `cannot read peer credentials (errno ${errno()})`);
    const pidb = Buffer.alloc(4);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(4);
    const pr = fn('int getsockopt(int fd, int level, int name, void *val, void *len)')(fd, 0 /* SOL_LOCAL */, 2 /* LOCAL_PEERPID */, pidb, len) as number;
    return { pid: pr === 0 ? pidb.readInt32LE(0) : null, uid: uid.readUInt32LE(0), gid: gid.readUInt32LE(0) };
  }
  throw new SesameError('DENIED', `peer credentials are not supported on ${process.platform}`);
}

// ---------------------------------------------------------------- process hardening

export interface Hardening {
  /** PR_SET_DUMPABLE 0 took effect (read back with PR_GET_DUMPABLE). */
  dumpable: boolean;
  /** RLIMIT_CORE is 0 (soft and hard), read back with getrlimit. */
  coreLimit: boolean;
}

const prctl = (): Fn => fn('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)');

/**
 * PR_SET_DUMPABLE 0 (no core dumps, no same-uid ptrace or pidfd_getfd, /proc/PID/mem and
 * environ closed to other processes) and RLIMIT_CORE 0. Linux only. Each result is read
 * back from the kernel, not taken from the call's return value; callers that hold a key
 * must refuse to go on when either is false (`requireHardening`).
 */
export function hardenProcess(): Hardening {
  if (!isLinux) return { dumpable: false, coreLimit: false };
  prctl()(4 /* PR_SET_DUMPABLE */, 0, 0, 0, 0);
  const rl = Buffer.alloc(16); // struct rlimit { rlim_t cur, max } = 0, 0
  fn('int setrlimit(int resource, void *rlim)')(4 /* RLIMIT_CORE */, rl);
  return readHardening();
}

/** What the kernel says now: dumpable flag 0, and core limit 0/0. */
export function readHardening(): Hardening {
  if (!isLinux) return { dumpable: false, coreLimit: false };
  const dumpable = (prctl()(3 /* PR_GET_DUMPABLE */, 0, 0, 0, 0) as number) === 0;
  const rl = Buffer.alloc(16);
  const ok = (fn('int getrlimit(int resource, void *rlim)')(4 /* RLIMIT_CORE */, rl) as number) === 0;
  const coreLimit = ok && rl.readBigUInt64LE(0) === 0n && rl.readBigUInt64LE(8) === 0n;
  return { dumpable, coreLimit };
}

/**
 * Hardens this process and throws ERROR (naming what failed) unless both took effect: a
 * process that is about to hold a key or a passphrase fails closed.
 */
export function requireHardening(what: string): Hardening {
  return assertHardened(hardenProcess(), what);
}

/** Throws ERROR naming each step of `h` that did not take effect; returns `h` otherwise. */
export function assertHardened(h: Hardening, what: string): Hardening {
  const failed = [h.dumpable ? null : 'PR_SET_DUMPABLE 0', h.coreLimit ? null : 'RLIMIT_CORE 0'].filter(Boolean);
  if (failed.length) {
    throw new SesameError('ERROR', `${what} refuses to run unhardened: ${failed.join(' and ')} did not take effect`, {
      hint: isLinux ? 'a seccomp filter or a container policy may block prctl/setrlimit; see docs/agent.md' : `process hardening is only supported on Linux, not ${process.platform}`,
    });
  }
  return h;
}

// ---------------------------------------------------------------- clocks

const CLOCK_MONOTONIC = 1;
const CLOCK_BOOTTIME = 7;
let timespec: Buffer | undefined;

/**
 * Milliseconds on CLOCK_BOOTTIME: monotonic, and unlike CLOCK_MONOTONIC (what
 * performance.now() and Node's timers use) it keeps counting while the machine is
 * suspended, so a TTL measured on it expires across a night asleep. Elsewhere than Linux:
 * CLOCK_MONOTONIC (documented: suspend is not counted there).
 */
export function bootTimeMs(): number {
  const ts = (timespec ??= Buffer.alloc(16)); // struct timespec { time_t sec; long nsec } (64-bit); reused: it runs per request
  const r = fn('int clock_gettime(int clk, void *ts)')(isLinux ? CLOCK_BOOTTIME : CLOCK_MONOTONIC, ts) as number;
  if (r !== 0) throw new SesameError('ERROR', `clock_gettime failed (errno ${errno()})`);
  return Number(ts.readBigInt64LE(0)) * 1000 + Number(ts.readBigInt64LE(8)) / 1e6;
}

// ---------------------------------------------------------------- a blocking unix connection

/**
 * Connects a blocking AF_UNIX stream socket to `path` and returns its fd (close-on-exec).
 * Used where the bytes must go straight from the kernel into guarded memory (the agent's
 * key hand-off): no stream, no intermediate Buffer. Throws ERROR with the errno.
 */
export function connectUnix(path: string): number {
  const sockPath = Buffer.from(path, 'utf8');
  if (sockPath.length >= 108) throw new SesameError('ERROR', `socket path too long (${sockPath.length} bytes)`);
  const fd = fn('int socket(int domain, int type, int protocol)')(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | (isLinux ? 0o2000000 /* SOCK_CLOEXEC */ : 0), 0) as number;
  if (fd < 0) throw new SesameError('ERROR', `socket failed (errno ${errno()})`);
  const addr = Buffer.alloc(110); // struct sockaddr_un { sa_family_t; char sun_path[108] }
  addr.writeUInt16LE(1, 0);
  sockPath.copy(addr, 2);
  for (;;) {
    const r = fn('int connect(int fd, void *addr, unsigned int len)')(fd, addr, addr.length) as number;
    if (r === 0) return fd;
    const e = errno();
    if (e === E.EINTR) continue;
    closeDescriptor(fd);
    throw new SesameError('ERROR', `connect failed (errno ${e})`);
  }
}

/** SO_RCVTIMEO on a blocking socket: a read waits at most `seconds`, then fails with EAGAIN. */
export function setRecvTimeout(fd: number, seconds: number): void {
  const tv = Buffer.alloc(16); // struct timeval { time_t sec; suseconds_t usec } (64-bit)
  tv.writeBigInt64LE(BigInt(seconds), 0);
  const r = fn('int setsockopt(int fd, int level, int name, void *val, unsigned int len)')(fd, isLinux ? 1 : 0xffff /* SOL_SOCKET */, isLinux ? 20 : 0x1006 /* SO_RCVTIMEO */, tv, tv.length) as number;
  if (r !== 0) throw new SesameError('ERROR', `setsockopt SO_RCVTIMEO failed (errno ${errno()})`);
}

// ---------------------------------------------------------------- the initial environment

/**
 * Overwrites the value of `name` in this process's environment block with zero bytes (so
 * /proc/PID/environ no longer shows it) and unsets it. Returns true if it was there.
 * The block /proc shows is the one the process started with; unsetenv alone (what deleting
 * from process.env does) leaves its bytes in place. Copies Node already made as JS strings
 * are out of reach.
 */
export function scrubEnv(name: string): boolean {
  const getenv = fn('void *getenv(const char *name)');
  const p = getenv(name);
  if (p === null) return false;
  const n = Number(fn('size_t strlen(void *s)')(p));
  fn('void *memset(void *s, int c, size_t n)')(p, 0, n);
  fn('int unsetenv(const char *name)')(name);
  return true;
}

/** Raw syscall (Linux), for interfaces libc does not wrap (kernel keyring). */
export function syscall(nr: number, ...args: (number | bigint | string | Buffer | null)[]): number {
  const types: string[] = [];
  const vals: unknown[] = [];
  for (const a of args) {
    if (a === null || Buffer.isBuffer(a)) types.push('void *');
    else if (typeof a === 'string') types.push('const char *');
    else types.push('long');
    vals.push(a);
  }
  const f = fn('long syscall(long nr, ...)');
  const call: unknown[] = [nr];
  types.forEach((t, i) => call.push(t, vals[i]));
  return Number(f(...call));
}

// ---------------------------------------------------------------- kernel keyring (session tier)
// Owned by the passphrase chain (src/core/passphrase/session.ts). add_key(2) and keyctl(2)
// through raw syscalls: libc does not wrap them (libkeyutils would be one more library).

/** add_key / keyctl syscall numbers per architecture; absent = unsupported here. */
const KEY_SYSCALLS: Partial<Record<string, { addKey: number; keyctl: number }>> = {
  x64: { addKey: 248, keyctl: 250 },
  arm64: { addKey: 217, keyctl: 219 },
  riscv64: { addKey: 217, keyctl: 219 },
};
const KEYCTL = { GET_KEYRING_ID: 0, DESCRIBE: 6, SEARCH: 10, READ: 11, INVALIDATE: 21 } as const;
/** Special keyring id: the calling process's session keyring (resolve it with sessionKeyringId). */
const KEY_SPEC_SESSION_KEYRING = -3;

function keyNr(): { addKey: number; keyctl: number } {
  const nr = isLinux ? KEY_SYSCALLS[process.arch] : undefined;
  if (!nr) throw new SesameError('UNAVAILABLE', `the kernel keyring is not supported on ${process.platform}/${process.arch}`);
  return nr;
}

function keyFail(what: string): SesameError {
  return new SesameError('UNAVAILABLE', `kernel keyring: ${what} failed (errno ${errno()})`);
}

/**
 * The serial of this process's session keyring; null when the kernel keyring cannot be used
 * (not Linux, an unknown architecture, or keyctl blocked by a seccomp filter).
 * Without a session keyring of its own (no pam_keyinit, e.g. a container or a cron job) the
 * process is given the user-session keyring (`_uid_ses.UID`), shared by the user's processes
 * that have none. Never creates an anonymous keyring: a key added there would die with us.
 */
export function sessionKeyringId(): number | null {
  const nr = isLinux ? KEY_SYSCALLS[process.arch] : undefined;
  if (!nr) return null;
  try {
    const id = syscall(nr.keyctl, KEYCTL.GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
    return id > 0 ? id : null;
  } catch {
    return null;
  }
}

/**
 * Adds (or atomically replaces) a "user" key `desc` holding `payload` in `ring`. Returns
 * its serial. The kernel copies the payload; the caller still wipes its Buffer. The key is
 * readable by processes that possess it (the session), viewable by the user.
 */
export function keyAdd(desc: string, payload: Buffer, ring: number): number {
  const id = syscall(keyNr().addKey, 'user', desc, payload, payload.length, ring);
  if (id < 0) throw keyFail('add_key');
  return id;
}

/** Finds a "user" key by description from `ring` (recursively). null when there is none. */
export function keySearch(ring: number, desc: string): number | null {
  const id = syscall(keyNr().keyctl, KEYCTL.SEARCH, ring, 'user', desc, 0);
  if (id >= 0) return id;
  const e = errno();
  if (e === E.ENOKEY || e === E.EKEYEXPIRED || e === E.EKEYREVOKED || e === E.ENOENT) return null;
  throw keyFail('search');
}

/** Reads a key's payload (a fresh Buffer the caller wipes). null when it vanished. */
export function keyRead(id: number): Buffer | null {
  const nr = keyNr().keyctl;
  for (let attempt = 0; attempt < 3; attempt++) {
    const size = syscall(nr, KEYCTL.READ, id, null, 0);
    if (size < 0) {
      if (keyGone()) return null;
      throw keyFail('read');
    }
    const buf = Buffer.alloc(Math.max(size, 1));
    const n = syscall(nr, KEYCTL.READ, id, buf, buf.length);
    if (n < 0) {
      buf.fill(0);
      if (keyGone()) return null;
      throw keyFail('read');
    }
    if (n <= buf.length) return buf.subarray(0, n);
    buf.fill(0); // replaced meanwhile with a larger payload: read again
  }
  throw keyFail('read (the key kept changing)');
}

function keyGone(): boolean {
  const e = errno();
  return e === E.ENOKEY || e === E.EKEYEXPIRED || e === E.EKEYREVOKED;
}

/** The serials linked in a keyring (its payload is a list of int32 key ids). */
export function keyringList(ring: number): number[] {
  const buf = keyRead(ring);
  if (!buf) return [];
  const ids: number[] = [];
  for (let i = 0; i + 4 <= buf.length; i += 4) ids.push(buf.readInt32LE(i));
  return ids;
}

/** A key's type and description (never its payload); null when it is gone or not viewable. */
export function keyDescribe(id: number): { type: string; desc: string } | null {
  const buf = Buffer.alloc(4096);
  const n = syscall(keyNr().keyctl, KEYCTL.DESCRIBE, id, buf, buf.length);
  if (n <= 0 || n > buf.length) return null;
  const parts = buf
    .subarray(0, n - 1)
    .toString('utf8')
    .split(';');
  if (parts.length < 5) return null;
  return { type: parts[0]!, desc: parts.slice(4).join(';') };
}

/** Deletes a key at once from every keyring (the kernel wipes a user key's payload). */
export function keyInvalidate(id: number): void {
  if (syscall(keyNr().keyctl, KEYCTL.INVALIDATE, id) < 0 && !keyGone()) throw keyFail('invalidate');
}

// ---------------------------------------------------------------- spawn, pipes, ptys, waitpid (exec)
// Owned by daemon-mediated exec (src/core/agent/exec/*) and `run --mask`. posix_spawn (glibc:
// clone(CLONE_VM|CLONE_VFORK) then execve) is safe in a multi-threaded process, unlike fork.
// argv and envp are arrays of pointers to NUL-terminated Buffers the caller builds and wipes,
// so no value needs to be a JS string. Linux only (glibc ≥ 2.29 for addchdir_np, 2.34 for
// addclosefrom_np; both are looked up and the spawn is refused without them).

const O_CLOEXEC = isLinux ? 0o2000000 : 0x1000000;
const O_RDWR = 2;
const O_NOCTTY = isLinux ? 0o400 : 0x20000;
const POSIX_SPAWN = { SETPGROUP: 0x02, SETSIGDEF: 0x04, SETSIGMASK: 0x08, SETSID: 0x80 } as const;

/** A pipe's two ends `[read, write]`, both close-on-exec. Throws ERROR with the errno. */
export function pipeCloexec(): [number, number] {
  const fds = Buffer.alloc(8);
  const r = fn('int pipe2(void *fds, int flags)')(fds, O_CLOEXEC) as number;
  if (r !== 0) throw new SesameError('ERROR', `pipe2 failed (errno ${errno()})`);
  return [fds.readInt32LE(0), fds.readInt32LE(4)];
}

/** Closes `fd` (a descriptor this module handed out or received), ignoring errors (EBADF for one already closed). */
export function closeDescriptor(fd: number): void {
  fn('int close(int fd)')(fd);
}

/** A new pseudo-terminal: its master fd (close-on-exec, blocking) and its slave's path (`/dev/pts/N`). */
export function openPty(rows: number, cols: number): { master: number; slave: string } {
  const master = fn('int posix_openpt(int flags)')(O_RDWR | O_NOCTTY | O_CLOEXEC) as number;
  if (master < 0) throw new SesameError('ERROR', `posix_openpt failed (errno ${errno()})`);
  try {
    if ((fn('int grantpt(int fd)')(master) as number) !== 0) throw new SesameError('ERROR', `grantpt failed (errno ${errno()})`);
    if ((fn('int unlockpt(int fd)')(master) as number) !== 0) throw new SesameError('ERROR', `unlockpt failed (errno ${errno()})`);
    const name = Buffer.alloc(128);
    if ((fn('int ptsname_r(int fd, void *buf, size_t len)')(master, name, name.length) as number) !== 0) throw new SesameError('ERROR', `ptsname_r failed (errno ${errno()})`);
    setWinSize(master, rows, cols);
    return { master, slave: name.subarray(0, name.indexOf(0)).toString('latin1') };
  } catch (e) {
    closeDescriptor(master);
    throw e;
  }
}

/** TIOCSWINSZ on a pty (master or slave): the kernel then sends SIGWINCH to its foreground group. */
export function setWinSize(fd: number, rows: number, cols: number): void {
  const ws = Buffer.alloc(8); // struct winsize { unsigned short row, col, xpixel, ypixel }
  ws.writeUInt16LE(rows, 0);
  ws.writeUInt16LE(cols, 2);
  const r = fn('int ioctl(int fd, unsigned long req, ...)')(fd, 0x5414 /* TIOCSWINSZ */, 'void *', ws) as number;
  if (r !== 0) throw new SesameError('ERROR', `TIOCSWINSZ failed (errno ${errno()})`);
}

/** The window size of the terminal on `fd`, or null when it is not one. */
export function getWinSize(fd: number): { rows: number; cols: number } | null {
  const ws = Buffer.alloc(8);
  const r = fn('int ioctl(int fd, unsigned long req, ...)')(fd, 0x5413 /* TIOCGWINSZ */, 'void *', ws) as number;
  return r === 0 ? { rows: ws.readUInt16LE(0), cols: ws.readUInt16LE(2) } : null;
}

/** What `spawnChild` starts. */
export interface SpawnSpec {
  /** The absolute path of the program (already resolved by the caller). */
  readonly path: string;
  /** argv entries, NUL-terminated by this function in off-heap copies that it wipes. */
  readonly argv: readonly Buffer[];
  /** "NAME=value" entries, NUL-terminated in off-heap copies that it wipes; the caller wipes its own. */
  readonly env: readonly Buffer[];
  readonly cwd: string;
  /** The child's fds 0, 1, 2 (inherited through dup2; every other fd is closed in the child). */
  readonly stdio?: readonly [number, number, number];
  /** A pty slave path: the child gets a new session with it as controlling terminal on 0, 1, 2. */
  readonly pty?: string;
}

/**
 * Starts `spec` with posix_spawn: a new process group (or a new session on a pty), every
 * signal at its default disposition and none blocked, every fd above 2 closed. Returns the
 * pid (= the process group id). Throws ERROR (`detail.errno`) when the spawn failed — glibc
 * reports the child's execve failure too (ENOENT, EACCES). The NUL-terminated copies of argv
 * and env are wiped before return.
 */
export function spawnChild(spec: SpawnSpec): number {
  if (!isLinux) throw new SesameError('UNAVAILABLE', `exec is not supported on ${process.platform}`);
  const copies: Buffer[] = [];
  const nul = (b: Buffer): Buffer => {
    const out = allocSecret(b.length + 1);
    b.copy(out);
    copies.push(out);
    return out;
  };
  const fa = Buffer.alloc(256); // posix_spawn_file_actions_t is 80 bytes on glibc x86_64/arm64
  const attr = Buffer.alloc(512); // posix_spawnattr_t is 336 bytes
  const set = Buffer.alloc(128);
  fn('int posix_spawn_file_actions_init(void *fa)')(fa);
  fn('int posix_spawnattr_init(void *a)')(attr);
  try {
    const check = (r: unknown, what: string): void => {
      if ((r as number) !== 0) throw new SesameError('ERROR', `${what} failed (errno ${String(r)})`, { detail: { errno: r as number } });
    };
    if (spec.pty) {
      // After setsid the first tty opened without O_NOCTTY becomes the controlling terminal.
      check(fn('int posix_spawn_file_actions_addopen(void *fa, int fd, const char *path, int flags, unsigned int mode)')(fa, 0, spec.pty, O_RDWR, 0), 'addopen');
      check(fn('int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)')(fa, 0, 1), 'adddup2');
      check(fn('int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)')(fa, 0, 2), 'adddup2');
    } else if (spec.stdio) {
      spec.stdio.forEach((fd, i) => {
        check(fn('int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)')(fa, fd, i), 'adddup2');
      });
    }
    check(fn('int posix_spawn_file_actions_addclosefrom_np(void *fa, int from)')(fa, 3), 'addclosefrom_np');
    check(fn('int posix_spawn_file_actions_addchdir_np(void *fa, const char *path)')(fa, spec.cwd), 'addchdir_np');
    fn('int sigfillset(void *set)')(set);
    check(fn('int posix_spawnattr_setsigdefault(void *a, void *set)')(attr, set), 'setsigdefault');
    fn('int sigemptyset(void *set)')(set);
    check(fn('int posix_spawnattr_setsigmask(void *a, void *set)')(attr, set), 'setsigmask');
    // setsid makes the child its own group leader; SETPGROUP on top would fail (EPERM).
    const flags = POSIX_SPAWN.SETSIGDEF | POSIX_SPAWN.SETSIGMASK | (spec.pty ? POSIX_SPAWN.SETSID : POSIX_SPAWN.SETPGROUP);
    check(fn('int posix_spawnattr_setflags(void *a, short flags)')(attr, flags), 'setflags');
    if (!spec.pty) check(fn('int posix_spawnattr_setpgroup(void *a, int pgroup)')(attr, 0), 'setpgroup');
    const argv = [...spec.argv.map(nul), null];
    const env = [...spec.env.map(nul), null];
    const pid = Buffer.alloc(4);
    const r = fn('int posix_spawn(void *pid, const char *path, void *fa, void *attr, void **argv, void **envp)')(pid, spec.path, fa, attr, argv, env) as number;
    if (r !== 0) throw new SesameError('ERROR', `cannot execute ${spec.path} (errno ${r})`, { detail: { errno: r } });
    return pid.readInt32LE(0);
  } finally {
    for (const c of copies) c.fill(0);
    fn('int posix_spawn_file_actions_destroy(void *fa)')(fa);
    fn('int posix_spawnattr_destroy(void *a)')(attr);
  }
}

/** How a child ended. */
export type ChildExit = { code: number; signal?: undefined } | { code?: undefined; signal: number };

/** waitpid(pid, WNOHANG): null while it runs (or is not our child any more: ECHILD → null too, with `gone`). */
export function waitNoHang(pid: number): ChildExit | null {
  const st = Buffer.alloc(4);
  for (;;) {
    const r = fn('int waitpid(int pid, void *status, int options)')(pid, st, 1 /* WNOHANG */) as number;
    if (r === 0) return null;
    if (r < 0) {
      if (errno() === E.EINTR) continue;
      return { code: 255 }; // ECHILD: reaped elsewhere; the status is lost
    }
    const s = st.readInt32LE(0);
    const sig = s & 0x7f;
    if (sig === 0) return { code: (s >> 8) & 0xff };
    if (sig !== 0x7f) return { signal: sig };
    return null; // stopped: not an end
  }
}

// ---------------------------------------------------------------- secrets as file descriptors
// Owned by fd delivery (`getfd`, docs/spec/agent-protocol.md; `sesame run --fd`; the Node
// API's getFd). memfd_secret(2) keeps the pages out of the kernel's direct map (root's
// /proc/PID/mem of a process that did not map them cannot read them, and neither can the
// kernel by accident); memfd_create(2) + seals is the fallback where secretmem is off.

/** What kind of memory file carries a delivered value. */
export type SecretFdKind = 'secret' | 'sealed';

/** memfd_secret's syscall number: 447 on x86_64 and arm64 (and riscv64: the generic table). */
const MEMFD_SECRET_NR: Partial<Record<string, number>> = { x64: 447, arm64: 447, riscv64: 447 };
const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const F_ADD_SEALS = 1033;
const F_GET_SEALS = 1034;
/** F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE */
const ALL_SEALS = 0x1 | 0x2 | 0x4 | 0x8;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_FAILED = 0xffffffffffffffffn;

/** A mapping of `len` bytes of `fd` (shared), or throws ERROR. The caller munmaps it. */
function mapFd(fd: number, len: number, prot: number): unknown {
  const p = fn('void *mmap(void *addr, size_t len, int prot, int flags, int fd, intptr_t off)')(null, len, prot, MAP_SHARED, fd, 0);
  if (p === null || koffi().address(p) === MAP_FAILED) throw new SesameError('ERROR', `mmap failed (errno ${errno()})`);
  return p;
}

function unmap(p: unknown, len: number): void {
  fn('int munmap(void *addr, size_t len)')(p, len);
}

/**
 * A memfd_secret(2) file of exactly `value`'s bytes (close-on-exec), or null when this kernel
 * refuses it (not Linux, an unknown architecture, ENOSYS, secretmem disabled — EINVAL/ENOSYS —
 * or no locked memory left — ENOMEM/EAGAIN/EPERM). The bytes are copied through a short-lived
 * mapping, unmapped before return. Readable only by mmap (read(2) and write(2) fail on it).
 */
export function memfdSecret(value: Buffer): number | null {
  const nr = isLinux ? MEMFD_SECRET_NR[process.arch] : undefined;
  if (nr === undefined) return null;
  const fd = syscall(nr, O_CLOEXEC);
  if (fd < 0) return null;
  try {
    if ((fn('int ftruncate(int fd, intptr_t len)')(fd, value.length) as number) !== 0) throw new SesameError('ERROR', `ftruncate failed (errno ${errno()})`);
    if (value.length) {
      const p = mapFd(fd, value.length, PROT_READ | PROT_WRITE);
      fn('void *memcpy(void *dst, void *src, size_t n)')(p, value, value.length);
      unmap(p, value.length);
    }
    return fd;
  } catch (e) {
    closeDescriptor(fd);
    // A mapping refused here (secretmem needs locked memory) is the kernel saying no: fall back.
    if (e instanceof SesameError) return null;
    throw e;
  }
}

/**
 * A memfd_create(2) file holding `value`, sealed (F_SEAL_WRITE, _GROW, _SHRINK, _SEAL: nobody
 * can change it, not even through another fd), returned as a fresh read-only descriptor
 * (close-on-exec, offset 0); the writable one is closed. Throws ERROR on failure.
 */
export function memfdSealed(value: Buffer): number {
  if (!isLinux) throw new SesameError('UNAVAILABLE', `memory files are not supported on ${process.platform}`);
  const fd = fn('int memfd_create(const char *name, unsigned int flags)')('sesame', MFD_CLOEXEC | MFD_ALLOW_SEALING) as number;
  if (fd < 0) throw new SesameError('ERROR', `memfd_create failed (errno ${errno()})`);
  try {
    writeAll(fd, value, 'write to a memory file');
    const fcntl = fn('int fcntl(int fd, int cmd, ...)');
    if ((fcntl(fd, F_ADD_SEALS, 'int', ALL_SEALS) as number) !== 0) throw new SesameError('ERROR', `sealing a memory file failed (errno ${errno()})`);
    const ro = fn('int open(const char *path, int flags)')(`/proc/self/fd/${fd}`, 0 /* O_RDONLY */ | O_CLOEXEC) as number;
    if (ro < 0) throw new SesameError('ERROR', `reopening a memory file read-only failed (errno ${errno()})`);
    return ro;
  } finally {
    closeDescriptor(fd);
  }
}

/** The seals on a memory file (F_GET_SEALS), -1 when it has none to report. */
function fdSeals(fd: number): number {
  return fn('int fcntl(int fd, int cmd, ...)')(fd, F_GET_SEALS, 'int', 0) as number;
}

/** True when `fd` is sealed against every change (write, grow, shrink, more seals). */
export function fdFullySealed(fd: number): boolean {
  const s = fdSeals(fd);
  return s >= 0 && (s & ALL_SEALS) === ALL_SEALS;
}

/**
 * Copies the whole content of memory file `fd` (of `len` bytes) into `out` (which must hold
 * `len` bytes): by mmap (the only way into a memfd_secret file; works for a sealed one too).
 */
export function readMemFd(fd: number, len: number, out: Buffer): void {
  if (out.length < len) throw new SesameError('ERROR', 'internal: buffer too small for the memory file');
  if (!len) return;
  const p = mapFd(fd, len, PROT_READ);
  try {
    fn('void *memcpy(void *dst, void *src, size_t n)')(out, p, len);
  } finally {
    unmap(p, len);
  }
}

/**
 * Maps `len` bytes of memory file `fd` read-only and keeps them mapped until `unmap()`: for a
 * reader that wants the value in place (a memfd_secret mapping stays out of the kernel's
 * direct map and out of /proc/PID/mem), and for the tests that check exactly that.
 */
export function mapReadOnly(fd: number, len: number): { unmap(): void } {
  const p = len ? mapFd(fd, len, PROT_READ) : null;
  let done = false;
  return {
    unmap: () => {
      if (!done && p !== null) unmap(p, len);
      done = true;
    },
  };
}

/** Duplicates `fd` onto `target` (dup2), without close-on-exec: for a child's inherited descriptors. Throws ERROR. */
export function dupTo(fd: number, target: number): void {
  if (fd === target) {
    makeInheritableBlocking(fd);
    return;
  }
  if ((fn('int dup2(int fd, int target)')(fd, target) as number) < 0) throw new SesameError('ERROR', `dup2 to ${target} failed (errno ${errno()})`);
}

/** A duplicate of `fd` at the lowest free number ≥ `min` (close-on-exec); the original stays open. Throws ERROR. */
export function dupAbove(fd: number, min: number): number {
  const r = fn('int fcntl(int fd, int cmd, ...)')(fd, 1030 /* F_DUPFD_CLOEXEC */, 'int', min) as number;
  if (r < 0) throw new SesameError('ERROR', `fcntl F_DUPFD_CLOEXEC failed (errno ${errno()})`);
  return r;
}

let msgTypes: { msghdr: unknown } | undefined;
function msgT(): { msghdr: unknown } {
  if (!msgTypes) {
    const k = koffi();
    const iovec = k.struct('sesame_iovec', { base: 'void *', len: 'size_t' });
    const msghdr = k.struct('sesame_msghdr', { name: 'void *', namelen: 'uint32', iov: k.pointer(iovec), iovlen: 'size_t', control: 'void *', controllen: 'size_t', flags: 'int' });
    msgTypes = { msghdr };
  }
  return msgTypes;
}
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;
const MSG_CTRUNC = 0x8;

/**
 * Sends `data` and, with its first byte, descriptor `fd` (SCM_RIGHTS) on connected Unix
 * socket `sock`. Returns the bytes sent (all of `data`: a short or failed send throws ERROR;
 * EAGAIN on a non-blocking socket included — callers send small frames on an idle socket).
 */
export function sendWithFd(sock: number, data: Buffer, fd: number): number {
  msgT();
  const cm = Buffer.alloc(24); // struct cmsghdr { size_t len; int level; int type; } + one int, aligned
  cm.writeBigUInt64LE(20n, 0);
  cm.writeInt32LE(SOL_SOCKET, 8);
  cm.writeInt32LE(SCM_RIGHTS, 12);
  cm.writeInt32LE(fd, 16);
  const send = fn('intptr_t sendmsg(int fd, const sesame_msghdr *msg, int flags)');
  for (;;) {
    const n = Number(send(sock, { name: null, namelen: 0, iov: [{ base: data, len: data.length }], iovlen: 1, control: cm, controllen: cm.length, flags: 0 }, MSG_NOSIGNAL));
    if (n < 0 && errno() === E.EINTR) continue;
    if (n !== data.length) throw new SesameError('ERROR', `sendmsg failed (${n < 0 ? `errno ${errno()}` : `${n} of ${data.length} bytes`})`);
    return n;
  }
}

/**
 * One recvmsg on a blocking Unix socket into `buf`: the bytes read (0 at end of file) and the
 * descriptors that came with them (close-on-exec; the caller owns them). A truncated control
 * message (more descriptors than room) closes what arrived and throws PROTOCOL.
 */
export function recvWithFds(sock: number, buf: Buffer): { n: number; fds: number[] } {
  msgT();
  const cm = Buffer.alloc(64);
  const recv = fn('intptr_t recvmsg(int fd, _Inout_ sesame_msghdr *msg, int flags)');
  for (;;) {
    const m = { name: null, namelen: 0, iov: [{ base: buf, len: buf.length }], iovlen: 1, control: cm, controllen: cm.length, flags: 0 };
    const n = Number(recv(sock, m, MSG_CMSG_CLOEXEC));
    if (n < 0) {
      const e = errno();
      if (e === E.EINTR) continue;
      throw new SesameError(e === E.EAGAIN ? 'UNAVAILABLE' : 'ERROR', e === E.EAGAIN ? 'the agent did not answer in time' : `recvmsg failed (errno ${e})`);
    }
    const fds: number[] = [];
    let off = 0;
    const clen = m.controllen;
    while (off + 16 <= clen) {
      const len = Number(cm.readBigUInt64LE(off));
      if (len < 16) break;
      if (cm.readInt32LE(off + 8) === SOL_SOCKET && cm.readInt32LE(off + 12) === SCM_RIGHTS) {
        for (let p = off + 16; p + 4 <= off + len; p += 4) fds.push(cm.readInt32LE(p));
      }
      off += (len + 7) & ~7;
    }
    if (m.flags & MSG_CTRUNC) {
      for (const f of fds) closeDescriptor(f);
      throw new SesameError('PROTOCOL', 'the agent sent more descriptors than asked for');
    }
    return { n, fds };
  }
}

/** write(2) all of `data` to a blocking descriptor; throws ERROR ("`what` failed", with the errno). */
export function writeAll(fd: number, data: Buffer, what = 'write'): void {
  let off = 0;
  while (off < data.length) {
    const n = Number(fn('intptr_t write(int fd, void *buf, size_t n)')(fd, data.subarray(off), data.length - off));
    if (n < 0) {
      if (errno() === E.EINTR) continue;
      throw new SesameError('ERROR', `${what} failed (errno ${errno()})`);
    }
    off += n;
  }
}
