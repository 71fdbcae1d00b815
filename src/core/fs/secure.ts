/**
 * The one module that writes secret-bearing files (the vault, tokens, session files,
 * sealed credentials) and checks the permissions of files and directories sesame trusts.
 *
 * Writes are atomic and durable: a temp file (0600, O_EXCL, O_NOFOLLOW) in the same
 * directory, written, fsync'd, renamed over the target, then the directory fsync'd.
 * A crash at any instant leaves either the old file or the new one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SesameError, ioError } from '../errors.js';
import { allocSecret } from '../bytes.js';

const uid = (): number => (typeof process.getuid === 'function' ? process.getuid() : -1);

/** Creates (0700) or checks a private directory: owned by us, no group/world bits. */
export function ensurePrivateDir(dir: string, opts: { create: boolean; what?: string } = { create: true }): void {
  const what = opts.what ?? 'sesame home';
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    if (!opts.create) throw new SesameError('NOT_INITIALIZED', `${what} ${dir} does not exist`, { remedy: 'init_home' });
    const old = process.umask(0o077);
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } finally {
      process.umask(old);
    }
    st = fs.statSync(dir);
  }
  if (!st.isDirectory()) throw new SesameError('INSECURE', `${what} ${dir} is not a directory`, { hint: 'move it away or choose another --home' });
  checkOwnerAndMode(dir, st, what, '700');
}

/**
 * Opens `p` for a private file of ours: created 0600 under umask 077, never through a
 * symlink (O_NOFOLLOW). `flags` adds the access mode and e.g. O_APPEND. The caller checks
 * what it opened (fstat) where an existing file's owner or mode matters. Throws the errno error.
 */
export function openPrivateFd(p: string, flags: number): number {
  const old = process.umask(0o077);
  try {
    return fs.openSync(p, flags | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  } finally {
    process.umask(old);
  }
}

const SYSTEM_DIRS = new Set(['/dev/shm', '/var/tmp', '/run/user', '/run/lock', '/var/run', '/var/lock']);

/**
 * true for a directory other users or the system rely on: sticky or world-writable (/tmp,
 * /dev/shm), the root, a top-level directory (/tmp, /run, /home, /root) or a well-known
 * shared one. A hint never tells the user to chmod or chown such a directory.
 */
export function isSharedDir(p: string, st?: fs.Stats | fs.BigIntStats): boolean {
  const abs = path.resolve(p);
  if (path.dirname(abs) === abs || path.dirname(abs) === '/' || SYSTEM_DIRS.has(abs)) return true;
  return st !== undefined && (Number(st.mode) & 0o1002) !== 0;
}

/** The hint for a shared directory that was to hold something private: a private subdirectory. */
export function privateSubdirHint(dir: string): string {
  const sub = path.join(dir, `sesame-${uid()}`);
  return `${dir} is shared with other users or the system: do not chmod or chown it; make a private directory inside it (mkdir -m 700 '${sub}') and use that instead`;
}

function checkOwnerAndMode(p: string, st: fs.Stats | fs.BigIntStats, what: string, mode: string, forbid = 0o077): void {
  const me = uid();
  if (st.isDirectory() && isSharedDir(p, st) && ((me >= 0 && Number(st.uid) !== me) || Number(st.mode) & forbid)) {
    throw new SesameError('INSECURE', `${what} ${p} is a shared directory (owner uid ${st.uid}, mode ${(Number(st.mode) & 0o7777).toString(8)}): it cannot hold private files`, {
      hint: privateSubdirHint(p),
    });
  }
  if (me >= 0 && Number(st.uid) !== me) {
    throw new SesameError('INSECURE', `${what} ${p} is owned by uid ${st.uid}, not by you (uid ${me})`, {
      hint: `run: chown ${me} '${p}'  (or use a home you own)`,
    });
  }
  const m = Number(st.mode);
  if (m & forbid) {
    const how = forbid === 0o077 ? 'accessible' : 'writable';
    throw new SesameError('INSECURE', `${what} ${p} is ${how} by group or others (mode ${(m & 0o777).toString(8)})`, {
      hint: `run: chmod ${mode} '${p}'`,
    });
  }
}

/**
 * Reads a file that must be private: not a symlink, a regular file, owned by us, no
 * group/world bits. Returns null when it does not exist.
 */
export function readPrivateFile(p: string, what: string): Buffer | null {
  return readPrivateFileStat(p, what)?.data ?? null;
}

export interface OwnedFileRules {
  /** Mode bits that must be clear (default 0o077: private; 0o022: others may read). */
  forbid?: number;
  /** Refuse files larger than this (bytes). */
  maxBytes?: number;
}

/** The largest file any reader here accepts unless told otherwise (a vault's JSON must fit one V8 string). */
export const DEFAULT_MAX_READ = 512 * 1024 * 1024;

/**
 * readPrivateFile, also returning the fstat of the file that was read. `rules` relaxes the
 * mode check for files that are trusted but not secret (config.toml: not writable by others).
 * Never blocks on a FIFO or reads a device: opened O_NONBLOCK|O_NOFOLLOW, then fstat'd, and
 * anything but a regular file is refused before a byte is read (INSECURE); the size is capped
 * (rules.maxBytes, default DEFAULT_MAX_READ; INVALID above it).
 */
export function readPrivateFileStat(p: string, what: string, rules: OwnedFileRules = {}): { data: Buffer; stat: fs.BigIntStats } | null {
  let fd: number;
  try {
    fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP' && isSymlink(p)) throw new SesameError('INSECURE', `${what} ${p} is a symlink; refusing to follow it`, { hint: 'replace the link with the real file' });
    if (code === 'ELOOP') throw ioError(e, { op: 'read', path: p, what }) ?? e; // a loop in a directory above it
    throw e;
  }
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    if (!st.isFile()) throw new SesameError('INSECURE', `${what} ${p} is not a regular file (${fileKind(st)})`, { hint: 'point sesame at a regular file' });
    checkOwnerAndMode(p, st, what, '600', rules.forbid);
    return { data: readRegularFd(fd, st, p, what, rules.maxBytes ?? DEFAULT_MAX_READ), stat: st };
  } finally {
    fs.closeSync(fd);
  }
}

/** What a non-regular file is, in words (for messages). */
function fileKind(st: fs.BigIntStats | fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symlink';
  return 'not a regular file';
}

const sizeText = (n: number): string => (n >= 1048576 ? `${Math.round(n / 1048576)} MiB` : `${Math.round(n / 1024)} KiB`);

/**
 * Reads an open regular file to its end, at most `max` bytes, into memory outside V8's
 * movable heap (allocSecret: the caller's wipe reaches the only copy). A file that
 * grows past its fstat size while being read is refused rather than read unbounded.
 */
function readRegularFd(fd: number, st: fs.BigIntStats, p: string, what: string, max: number): Buffer {
  if (st.size > BigInt(max)) throw new SesameError('INVALID', `${what} ${p} is larger than ${sizeText(max)}; nothing was read`);
  const size = Number(st.size);
  const buf = allocSecret(size + 1);
  let len = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
      if (len > size) throw new SesameError('INVALID', `${what} ${p} grew while it was read; nothing was read`, { hint: 'try again once nothing is writing to it' });
    }
  } catch (e) {
    buf.fill(0);
    throw e;
  }
  return buf.subarray(0, len);
}

export interface RegularFileRules {
  /** Refuse files larger than this (bytes; default DEFAULT_MAX_READ). */
  maxBytes?: number;
  /** Follow a symlink to a regular file (true: a file the user named on the command line). */
  followSymlinks?: boolean;
}

/**
 * Reads a file the user named (an import file): it may be a symlink (followSymlinks, default
 * true) and need not be private, but it must end at a regular file no larger than maxBytes.
 * A FIFO, device, socket or directory is refused (INVALID) without blocking or reading a
 * byte (O_NONBLOCK, then fstat on the opened fd). NOT_FOUND when missing; INSECURE when it
 * is a symlink and followSymlinks is false. The caller wipes the returned Buffer.
 */
export function readRegularFile(p: string, what: string, rules: RegularFileRules = {}): Buffer {
  const follow = rules.followSymlinks ?? true;
  let fd: number;
  try {
    fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (follow ? 0 : fs.constants.O_NOFOLLOW));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new SesameError('NOT_FOUND', `${what} ${p} does not exist`, { hint: 'check the path' });
    if (code === 'ELOOP') {
      const loop = follow || !isSymlink(p);
      throw new SesameError('INSECURE', loop ? `${what} ${p} is a symlink loop` : `${what} ${p} is a symlink; refusing to follow it`, {
        hint: loop ? 'a symlink on that path points back at itself: replace the loop with the real file or directory' : 'name the real file',
      });
    }
    if (code === 'EACCES' || code === 'EPERM') throw new SesameError('ERROR', `${what} ${p} cannot be read: permission denied`, { hint: "check the file's permissions" });
    throw e;
  }
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    if (!st.isFile()) throw new SesameError('INVALID', `${what} ${p} is not a regular file (${fileKind(st)}); nothing was read`, { hint: 'save the input to a regular file first' });
    return readRegularFd(fd, st, p, what, rules.maxBytes ?? DEFAULT_MAX_READ);
  } finally {
    fs.closeSync(fd);
  }
}

/** true when `p` itself is a symlink (O_NOFOLLOW's ELOOP), false when a loop above it made the error. */
function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * The identity of a file version: device, inode, size and change times. An atomic rename
 * always brings a new inode, so equal keys mean the same bytes for files sesame writes.
 */
export function fileVersionKey(st: fs.BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/**
 * Checks a private file without reading it (lstat: a symlink is refused, as are loose
 * permissions and another owner) and returns its lstat; null when missing.
 */
export function statPrivateFile(p: string, what: string): fs.BigIntStats | null {
  let st: fs.BigIntStats;
  try {
    st = fs.lstatSync(p, { bigint: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  if (st.isSymbolicLink()) throw new SesameError('INSECURE', `${what} ${p} is a symlink; refusing to follow it`, { hint: 'replace the link with the real file' });
  if (!st.isFile()) throw new SesameError('INSECURE', `${what} ${p} is not a regular file`);
  checkOwnerAndMode(p, st, what, '600');
  return st;
}

let tmpSeq = 0;

/**
 * Atomically and durably replaces `target` with `data`, mode 0600.
 *
 * Errors say what happened to the target (ioError, code ERROR, `detail.errno/op/path`):
 * before the rename, "it was not changed" (the temp file is removed); a failure of the
 * rename itself, "it was not replaced"; a failure after the rename (the directory fsync:
 * EIO, ...), that the new contents were written but their durability is unknown
 * (`detail.written: true`) — the caller must not report the write as lost, nor as safe.
 * With `opts.exclusive` an existing `target` is never replaced: the complete temp file is
 * hard-linked into place (atomic, fails on any existing name, a symlink included) and ERROR
 * `detail.errno: 'EEXIST'` says the target was left as it was.
 */
export function writeFileAtomic(target: string, data: Buffer | string | Buffer[], mode = 0o600, opts: { exclusive?: boolean } = {}): void {
  const dir = path.dirname(target);
  // Unique among live processes (pid) and within this one (time, counter); O_EXCL refuses any clash.
  const tmp = path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${Date.now().toString(36)}${(tmpSeq++).toString(36)}`);
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
  let fd: number;
  try {
    fd = fs.openSync(tmp, flags, mode);
  } catch (e) {
    throw ioError(e, { op: 'write', path: target, after: 'it was not changed' }) ?? e;
  }
  try {
    fs.fchmodSync(fd, mode);
    for (const buf of typeof data === 'string' ? [Buffer.from(data, 'utf8')] : Array.isArray(data) ? data : [data]) {
      let off = 0;
      while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw ioError(e, { op: 'write', path: target, after: 'it was not changed' }) ?? e;
  }
  fs.closeSync(fd);
  try {
    if (opts.exclusive) {
      fs.linkSync(tmp, target);
      fs.unlinkSync(tmp);
    } else fs.renameSync(tmp, target);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new SesameError('ERROR', `cannot write ${target}: it already exists; it was left as it was`, { detail: { errno: 'EEXIST', op: 'write', path: target }, cause: e });
    }
    throw ioError(e, { op: 'write', path: target, after: 'it was not replaced' }) ?? e;
  }
  try {
    fsyncDir(dir);
  } catch (e) {
    const after = `the new contents of ${target} were written, but whether they survive a crash or power loss is unknown`;
    throw (
      ioError(e, { op: 'sync', path: dir, what: 'directory', after, detail: { written: true, target } }) ??
      new SesameError('ERROR', `cannot sync directory ${dir}; ${after}`, { detail: { op: 'sync', path: dir, written: true, target }, cause: e })
    );
  }
}

/**
 * Copies a private file (checked as readPrivateFile checks it: ours, 0600, regular, not a
 * symlink) to a new private file `dst`, durably and without ever replacing an existing one
 * (writeFileAtomic, exclusive). False when `src` does not exist. The copied bytes are wiped
 * from memory once written. Throws INSECURE for an unsafe `src`, ERROR (EEXIST) when `dst`
 * exists, ERROR (ioError) when the write fails.
 */
export function copyPrivate(src: string, dst: string, what: string): boolean {
  const data = readPrivateFile(src, what);
  if (!data) return false;
  try {
    writeFileAtomic(dst, data, 0o600, { exclusive: true });
  } finally {
    data.fill(0);
  }
  return true;
}

/** fsyncs a directory, so a rename or unlink in it survives a crash. Throws the errno error. */
export function fsyncDir(dir: string): void {
  const dfd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
  }
}

/** Removes a file and fsyncs its directory; a missing file is fine. */
export function removeFile(p: string): boolean {
  try {
    fs.unlinkSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  fsyncDir(path.dirname(p));
  return true;
}

/**
 * Removes temp files left by writers that died mid-write (`.NAME.tmp-PID-SEQ` whose PID is
 * gone). Call only while holding the vault lock.
 */
export function cleanStaleTemps(target: string): number {
  const dir = path.dirname(target);
  const prefix = `.${path.basename(target)}.tmp-`;
  let n = 0;
  for (const name of fs.readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) continue;
    try {
      fs.unlinkSync(path.join(dir, name));
      n++;
    } catch {
      /* raced */
    }
  }
  return n;
}

/** true when a process with this pid exists (signal 0; EPERM means it exists but is another user's). Never throws. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
