/**
 * The chained audit log `$SESAME_HOME/audit.jsonl` (docs/spec/audit-log.md): append-only,
 * 0600, one record a line, each carrying the SHA-256 of the previous line and, when the
 * vault key is at hand, a MAC under the audit subkey.
 *
 * One chain, many writers: the agent and any number of CLI processes append under an
 * exclusive flock on `audit.lock` (src/core/fs/lock.ts). Under the lock a writer reads the
 * last line (the tail: its seq and hash), builds the next record, and writes it with ONE
 * write(2) on an O_APPEND descriptor. Nobody appends without the lock, so the tail a writer
 * read is still the tail when it writes; the lock dies with its process (kill -9 never
 * leaves it stuck).
 *
 * A failed append leaves the file as it was: a short write or an error after part of the
 * line reached the file is cut back (ftruncate to the old size) before the lock is released.
 * A torn last line left by a writer that died between such a write and its truncate is cut
 * off by the next writer (under the lock no one else can be mid-write).
 *
 * Rotation: when a line would take the file past `maxBytes` (10 MiB by default), the file
 * is renamed to `audit.jsonl.NNNNNN` (the next number) under the lock, and the new file's
 * first record carries the hash of the old file's last line: one chain across files.
 *
 * Durability: `sync` (default: every event but reads) fdatasyncs the file after the write,
 * so a record that was reported written survives a crash; an unsynced record may be lost by
 * a power failure (never by a process crash: it is in the page cache once write returns).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SesameError, ioError } from '../errors.js';
import { acquireLock, lockFd, unlockFd } from '../fs/lock.js';
import { fsyncDir, openPrivateFd } from '../fs/secure.js';
import { deriveSubkey, mac, type SecureKey } from '../crypto/sodium.js';
import { READ_EVENT_NAMES } from './events.js';
import { GENESIS, MAX_LINE, checkInput, lineHash, parseLine, recordBody, withMac, type AuditInput } from './record.js';

/** The size at which audit.jsonl is rotated unless the caller sets maxBytes (bytes); the chain continues across files. */
export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
/** The KDF context of the audit MAC key: its own subkey of the master key, used for nothing else. */
export const AUDIT_SUBKEY_CONTEXT = 'sesame/v1/audit-hmac';
/** Events that only read (their records are not fsync'd one by one): the `read` rows of the vocabulary (events.ts). */
export const READ_EVENTS: ReadonlySet<string> = READ_EVENT_NAMES;

/** Where the log lives in a home. */
export interface AuditPaths {
  readonly current: string;
  readonly lock: string;
  readonly dir: string;
}

/** The audit log's files in a home: the current log, its lock, and the directory rotated files go to. Creates nothing. */
export function auditPaths(home: string): AuditPaths {
  return { current: path.join(home, 'audit.jsonl'), lock: path.join(home, 'audit.lock'), dir: home };
}

const ROTATED = /^audit\.jsonl\.(\d{6})$/;

/** Every file of the chain, oldest first: the rotated files by number, then `audit.jsonl` (when it exists). */
export function auditFiles(home: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(home);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const rotated = names.filter((n) => ROTATED.test(n)).sort();
  const files = rotated.map((n) => path.join(home, n));
  if (names.includes('audit.jsonl')) files.push(path.join(home, 'audit.jsonl'));
  return files;
}

/** The MAC key of the log: the audit subkey and its public id (`kid`, 16 hex: which vault key made a record). */
export class AuditKey {
  private constructor(
    readonly subkey: SecureKey,
    readonly kid: string,
  ) {}

  /** Derives the audit subkey of a vault's master key (the caller keeps and disposes `master`). */
  static fromMaster(master: SecureKey): AuditKey {
    const subkey = deriveSubkey(master, AUDIT_SUBKEY_CONTEXT);
    const kid = mac(subkey, Buffer.from('sesame/v1/audit-kid', 'latin1')).subarray(0, 8).toString('hex');
    return new AuditKey(subkey, kid);
  }

  /** The MAC of a record's body. */
  mac(body: Buffer): Buffer {
    return mac(this.subkey, Buffer.from('sesame/v1/audit-record\0', 'latin1'), body);
  }

  dispose(): void {
    this.subkey.dispose();
  }
}

/** The write seam (tests inject a short write or ENOSPC); the default is one write(2). */
export type WriteFn = (fd: number, buf: Buffer) => number;

export interface AuditLogOptions {
  /** Rotate before a line would take the file past this many bytes (default 10 MiB). */
  maxBytes?: number;
  /** The clock (UTC time of each record). */
  now?: () => Date;
  /** How long to wait for another writer's lock (default 5 s). */
  lockTimeoutMs?: number;
  write?: WriteFn;
  /**
   * Keep the log and lock descriptors open between appends (the agent's read path). The
   * flock is still taken and released around EVERY append, so other writers interleave
   * freely; the last record's seq and hash are remembered and reused only when, under the
   * lock, the file is still the one we wrote (same inode as the path) and has the size our
   * last write left it at — otherwise the tail is read again. `close()` releases them.
   */
  keepOpen?: boolean;
}

/** A record waiting to be appended, with the time it happened (default: when it is written). */
export interface Queued {
  readonly input: AuditInput;
  readonly time?: Date;
}

const NEWLINE = Buffer.from('\n');

/** Where an append left the chain: the new head. */
export interface Head {
  readonly seq: number;
  readonly hash: string;
}

/** Reads the last complete line of an open file of `size` bytes; `end` is the length without a torn tail. */
function readTail(fd: number, size: number): { line: Buffer | null; end: number } {
  let pos = size;
  let acc = Buffer.alloc(0);
  let step = 4096; // a record is usually a few hundred bytes: read little first
  // Find the last '\n' (the end of the good part), then the one before it.
  for (;;) {
    const nl = acc.lastIndexOf(0x0a);
    if (nl >= 0) {
      const end = pos + nl + 1;
      const before = acc.subarray(0, nl);
      const start = before.lastIndexOf(0x0a);
      if (start >= 0) return { line: Buffer.from(before.subarray(start + 1)), end };
      if (pos === 0) return { line: Buffer.from(before), end };
      // the previous newline lies further back: read more before `pos`
    } else if (pos === 0) return { line: null, end: 0 };
    if (size - pos > MAX_LINE * 2 + 2)
      throw new SesameError('INTEGRITY', 'the last audit record is longer than a record may be', { hint: 'verify the audit log (audit verify) to see which record is damaged' });
    const n = Math.min(pos, step);
    step = Math.min(step * 4, 1 << 20);
    const chunk = Buffer.alloc(n);
    fs.readSync(fd, chunk, 0, n, pos - n);
    pos -= n;
    acc = Buffer.concat([chunk, acc]);
  }
}

function openLog(file: string): number {
  const fd = openPrivateFd(file, fs.constants.O_RDWR | fs.constants.O_APPEND);
  try {
    checkLogFd(fd, file);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return fd;
}

/** INSECURE unless the open `fd` is a regular file of this user with no group/other bits. */
function checkLogFd(fd: number, file: string): fs.Stats {
  const st = fs.fstatSync(fd);
  const me = typeof process.getuid === 'function' ? process.getuid() : -1;
  if (!st.isFile() || (me >= 0 && st.uid !== me) || st.mode & 0o077) {
    throw new SesameError('INSECURE', `the audit log ${file} is not a private regular file of this user (mode ${(st.mode & 0o7777).toString(8)}, owner uid ${st.uid})`, {
      hint: 'it must be a 0600 file owned by you; check who changed it before you fix it',
    });
  }
  return st;
}

/**
 * The last complete line of one audit file, reading only its tail (`audit head`): the file
 * must be a private regular file of this user, opened without following a symlink or
 * blocking on a FIFO. Null for an empty file or one without a complete line.
 */
export function lastLine(file: string): Buffer | null {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  try {
    return readTail(fd, checkLogFd(fd, file).size).line;
  } finally {
    fs.closeSync(fd);
  }
}

/** True when `file` names the inode `st` describes (a cheap check that nobody renamed or replaced it). */
function sameFile(file: string, st: fs.Stats): boolean {
  try {
    const p = fs.lstatSync(file);
    return p.ino === st.ino && p.dev === st.dev;
  } catch {
    return false;
  }
}

/** The tail of the newest rotated file (for a fresh `audit.jsonl` after a rotation). */
function rotatedTail(home: string): Buffer | null {
  const files = auditFiles(home).filter((f) => path.basename(f) !== 'audit.jsonl');
  const last = files[files.length - 1];
  if (!last) return null;
  const fd = fs.openSync(last, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    return readTail(fd, fs.fstatSync(fd).size).line;
  } finally {
    fs.closeSync(fd);
  }
}

function nextRotatedName(home: string): string {
  const nums = auditFiles(home)
    .map((f) => ROTATED.exec(path.basename(f)))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  const n = (nums.length ? Math.max(...nums) : 0) + 1;
  return path.join(home, `audit.jsonl.${String(n).padStart(6, '0')}`);
}

/**
 * The log of one home. Holds no descriptor between appends; the key (when given) is owned
 * by the caller, who disposes it after the last append.
 */
export class AuditLog {
  readonly paths: AuditPaths;
  readonly #opts: Required<AuditLogOptions>;
  #key: AuditKey | undefined;
  /** keepOpen: the log's descriptor, the lock file's, and the tail our last write left. */
  #fd = -1;
  #lockFd = -1;
  #lockChecked = -Infinity;
  #tail: { ino: number; size: number; seq: number; hash: string } | undefined;

  constructor(home: string, key?: AuditKey, opts: AuditLogOptions = {}) {
    this.paths = auditPaths(home);
    this.#key = key;
    this.#opts = {
      maxBytes: opts.maxBytes ?? DEFAULT_MAX_BYTES,
      now: opts.now ?? (() => new Date()),
      lockTimeoutMs: opts.lockTimeoutMs ?? 5000,
      write: opts.write ?? ((fd, buf) => fs.writeSync(fd, buf, 0, buf.length)),
      keepOpen: opts.keepOpen ?? false,
    };
  }

  /** Closes the descriptors kept by `keepOpen` (idempotent; the next append reopens). Never throws. */
  close(): void {
    for (const fd of [this.#fd, this.#lockFd]) {
      try {
        if (fd >= 0) fs.closeSync(fd);
      } catch {
        /* already closed */
      }
    }
    this.#fd = this.#lockFd = -1;
    this.#lockChecked = -Infinity;
    this.#tail = undefined;
  }

  /** Keys later records (after an unlock); undefined makes them unkeyed again. */
  setKey(key: AuditKey | undefined): void {
    this.#key = key;
  }

  /**
   * Appends one record and returns the new head. `sync` (default: all but READ_EVENTS)
   * fdatasyncs it. Throws (the log unchanged): INVALID for a field that breaks the
   * no-secrets shapes, BUSY when the lock is held past the timeout, INSECURE for a log file
   * that is not ours and private, INTEGRITY when the last record cannot be read, ERROR with
   * the errno for a write that failed (ENOSPC, EROFS, EACCES, EIO).
   */
  append(input: AuditInput, opts: { sync?: boolean } = {}): Head {
    return this.appendMany([{ input }], opts);
  }

  /**
   * Appends several records, chained in order, with ONE write(2) under one lock (the
   * agent's group commit of owner reads); each may carry the time it happened. All or
   * nothing: the same errors as `append`, the log unchanged. `sync` defaults to true unless
   * every record is a read.
   */
  appendMany(batch: readonly Queued[], opts: { sync?: boolean } = {}): Head {
    if (!batch.length) throw new SesameError('ERROR', 'internal: an empty audit batch');
    for (const q of batch) checkInput(q.input); // before anything is opened or locked
    const sync = opts.sync ?? !batch.every((q) => READ_EVENTS.has(q.input.event));
    if (this.#opts.keepOpen) return this.#appendKept(batch, sync);
    const lock = acquireLock(this.paths.lock, { timeoutMs: this.#opts.lockTimeoutMs, what: 'the audit log' });
    try {
      return this.#appendLocked(batch, sync);
    } catch (e) {
      throw ioError(e, { path: this.paths.current, what: 'the audit log', after: 'the log was left as it was' }) ?? e;
    } finally {
      lock.release();
    }
  }

  /** keepOpen: the same append, under a flock taken on the kept lock descriptor and released after. */
  #appendKept(batch: readonly Queued[], sync: boolean): Head {
    try {
      const lfd = this.#lockKept();
      try {
        return this.#appendLocked(batch, sync);
      } finally {
        unlockFd(lfd);
      }
    } catch (e) {
      this.close(); // start afresh next time
      throw ioError(e, { path: this.paths.current, what: 'the audit log', after: 'the log was left as it was' }) ?? e;
    }
  }

  /** Takes the flock on the kept lock descriptor (fs/lock.ts `lockFd`: BUSY names the holder's pid), reopening it when the lock file was replaced (so all writers lock one inode). */
  #lockKept(): number {
    const deadline = Date.now() + this.#opts.lockTimeoutMs;
    for (;;) {
      if (this.#lockFd < 0) this.#lockFd = openPrivateFd(this.paths.lock, fs.constants.O_RDWR);
      lockFd(this.#lockFd, this.paths.lock, { timeoutMs: Math.max(0, deadline - Date.now()), what: 'the audit log' });
      // Is the lock file still the one every writer opens? Checked at most once a second (a
      // lock file replaced meanwhile would let two writers race for that second; sesame never
      // removes it).
      const now = Date.now();
      if (now - this.#lockChecked < 1000) return this.#lockFd;
      if (sameFile(this.paths.lock, fs.fstatSync(this.#lockFd))) {
        this.#lockChecked = now;
        return this.#lockFd;
      }
      unlockFd(this.#lockFd);
      fs.closeSync(this.#lockFd);
      this.#lockFd = -1;
    }
  }

  /** The records `batch` as one write under the lock already held, chained in order; returns the last one's head. */
  #appendLocked(batch: readonly Queued[], sync: boolean): Head {
    const keep = this.#opts.keepOpen;
    let st: fs.Stats | undefined;
    let fd = -1;
    if (keep && this.#fd >= 0) {
      st = fs.fstatSync(this.#fd);
      if (sameFile(this.paths.current, st)) fd = this.#fd;
      else {
        fs.closeSync(this.#fd); // rotated or replaced by another writer
        this.#fd = -1;
        this.#tail = undefined;
      }
    }
    if (fd < 0) {
      fd = openLog(this.paths.current);
      if (keep) this.#fd = fd;
      st = fs.fstatSync(fd);
    }
    try {
      let ino = st?.ino ?? 0;
      let size = st?.size ?? 0;
      const cached = this.#tail;
      this.#tail = undefined;
      let seq = 1;
      let prev = GENESIS;
      if (cached && cached.ino === ino && cached.size === size) {
        // Nobody appended since our last write (same file, same size): its seq and hash are the tail.
        seq = cached.seq + 1;
        prev = cached.hash;
      } else {
        const tail = readTail(fd, size);
        if (tail.end !== size) {
          fs.ftruncateSync(fd, tail.end); // a torn line from a writer that died mid-append
          size = tail.end;
        }
        const prevLine = tail.line ?? (size === 0 ? rotatedTail(this.paths.dir) : null);
        if (prevLine) {
          const p = parseLine(prevLine);
          if (typeof p === 'string')
            throw new SesameError('INTEGRITY', `the last audit record cannot be read (${p}); nothing more can be chained to it`, {
              hint: 'verify the audit log (audit verify) to see which record is damaged',
            });
          seq = p.rec.seq + 1;
          prev = lineHash(prevLine);
        }
      }
      const key = this.#key;
      const lines: Buffer[] = [];
      for (const q of batch) {
        const body = recordBody(q.input, seq, prev, q.time ?? this.#opts.now(), key?.kid);
        const line = withMac(body, key ? key.mac(body) : null);
        if (line.length + 1 > MAX_LINE) throw new SesameError('INVALID', `an audit record of ${line.length + 1} bytes is longer than ${MAX_LINE} bytes`);
        prev = lineHash(line);
        lines.push(line, NEWLINE);
        seq++;
      }
      const out = Buffer.concat(lines);
      if (size > 0 && size + out.length > this.#opts.maxBytes) {
        const to = nextRotatedName(this.paths.dir);
        fs.renameSync(this.paths.current, to);
        fsyncDir(this.paths.dir);
        fs.closeSync(fd);
        this.#fd = fd = -1;
        fd = openLog(this.paths.current);
        if (keep) this.#fd = fd;
        ino = fs.fstatSync(fd).ino;
        size = 0;
      }
      this.#writeOnce(fd, out, size);
      if (sync) fs.fdatasyncSync(fd);
      const last = seq - 1;
      if (keep) this.#tail = { ino, size: size + out.length, seq: last, hash: prev };
      return { seq: last, hash: prev };
    } finally {
      if (!keep && fd >= 0) fs.closeSync(fd);
    }
  }

  /** One write(2); anything short of the whole line is cut back to `size`. */
  #writeOnce(fd: number, line: Buffer, size: number): void {
    let n: number;
    try {
      n = this.#opts.write(fd, line);
    } catch (e) {
      this.#cutBack(fd, size);
      throw e;
    }
    if (n !== line.length) {
      this.#cutBack(fd, size);
      throw new SesameError('ERROR', `cannot write the audit log ${this.paths.current}: a short write (${n} of ${line.length} bytes; the disk may be full); the log was left as it was`, {
        detail: { errno: 'ENOSPC', op: 'write', path: this.paths.current },
      });
    }
  }

  #cutBack(fd: number, size: number): void {
    if (fs.fstatSync(fd).size !== size) fs.ftruncateSync(fd, size);
  }
}

/** How a failed audit of a read is handled: who is reading decides. */
export interface AuditFailurePolicy {
  /** A delegated caller (token, profile, cell, MCP): the read is refused when it cannot be recorded. */
  readonly delegated: boolean;
  /** Where an owner's unrecorded read is reported (stderr in the CLI, the agent log). */
  readonly warn: (message: string) => void;
}

/**
 * Appends a read's record, failing closed for delegated callers: when the append throws,
 * a delegated read is refused (DENIED, `detail.reason: 'audit_unavailable'`) and an
 * owner's read goes ahead after a loud warning. Returns the head, or null when an owner's
 * record was not written. The access door calls this from its audit hook.
 */
export function appendOrDeny(log: AuditLog, input: AuditInput, policy: AuditFailurePolicy): Head | null {
  try {
    return log.append(input);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (policy.delegated) {
      throw new SesameError('DENIED', 'refused: this read cannot be recorded in the audit log, and a delegated read is never served unrecorded', {
        hint: 'the owner should check the audit log (disk space, permissions) (audit verify)',
        detail: { reason: 'audit_unavailable' },
        cause: e,
      });
    }
    policy.warn(`this ${input.event} was NOT recorded in the audit log: ${why}`);
    return null;
  }
}
