/**
 * Exclusive advisory locks (flock) with a bounded wait. The lock file records the holder's
 * pid so a "busy" error can name it. The lock is released when the fd is closed, including
 * when the process dies, so a kill -9 never leaves a stuck lock.
 */
import * as fs from 'node:fs';
import { SesameError } from '../errors.js';
import { openPrivateFd, readRegularFile } from './secure.js';
import { flockTryExclusive, flockUnlock } from '../os/native.js';
import { LOCK_WAIT_NOTICE_MS, lockNotice, type LockHolderInfo } from './lock-notice.js';

export type { LockHolderInfo };

export interface HeldLock {
  readonly fd: number;
  release(): void;
}

export interface LockOptions {
  /** Total time to wait for the lock, in ms. */
  timeoutMs: number;
  /** What the lock protects, for messages. */
  what: string;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Reads the holder recorded in a lock file (never a FIFO, never through a symlink); nulls when none. */
function lockHolderInfo(lockPath: string): LockHolderInfo {
  try {
    const [first, second] = readRegularFile(lockPath, 'lock file', { maxBytes: 256, followSymlinks: false }).toString('latin1').split('\n');
    const n = Number((first ?? '').trim());
    const command = (second ?? '').trim();
    return { pid: Number.isInteger(n) && n > 0 ? n : null, command: /^[a-z][a-z -]{0,63}$/.test(command) ? command : null };
  } catch {
    return { pid: null, command: null };
  }
}

/** Reads the pid recorded in a lock file, if any. */
export function lockHolder(lockPath: string): number | null {
  return lockHolderInfo(lockPath).pid;
}

function openLockFile(lockPath: string): number {
  return openPrivateFd(lockPath, fs.constants.O_RDWR);
}

/** Records our pid in a lock file we hold (what "busy … pid N" messages name). */
export function recordHolder(fd: number): void {
  fs.ftruncateSync(fd, 0);
  fs.writeSync(fd, `${process.pid}\n${lockNotice.command ? `${lockNotice.command}\n` : ''}`, 0);
}

/** Records our pid in a lock we now hold (unless already recorded), and returns the handle that releases it. */
function held(fd: number, record = true): HeldLock {
  if (record) recordHolder(fd);
  let released = false;
  return {
    fd,
    release() {
      if (released) return;
      released = true;
      try {
        fs.ftruncateSync(fd, 0);
        flockUnlock(fd);
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

/**
 * Takes the flock on an open lock file `fd` (of `lockPath`), waiting up to `timeoutMs`, and
 * records our pid in it; else throws BUSY naming the holder's pid (the descriptor stays open:
 * the caller owns it). For a lock file kept open between uses (the agent's audit log);
 * `unlockFd` releases it.
 */
export function lockFd(fd: number, lockPath: string, opts: LockOptions): void {
  const start = Date.now();
  const deadline = start + opts.timeoutMs;
  let delay = 1;
  let told = false;
  while (!flockTryExclusive(fd)) {
    if (!told && lockNotice.reporter && Date.now() - start >= LOCK_WAIT_NOTICE_MS && Date.now() < deadline) {
      told = true;
      try {
        lockNotice.reporter(lockHolderInfo(lockPath), opts.what);
      } catch {
        /* a reporter never breaks the wait */
      }
    }
    if (Date.now() >= deadline) {
      const pid = lockHolder(lockPath);
      throw new SesameError('BUSY', `${opts.what} is busy: the lock ${lockPath} is held${pid ? ` by pid ${pid}` : ''}`, {
        hint: 'wait for the other sesame process to finish and try again',
        detail: pid ? { pid } : {},
      });
    }
    sleepSync(delay);
    delay = Math.min(delay * 2, 50);
  }
  recordHolder(fd);
}

/** Releases a flock taken with `lockFd` (the pid record cleared first); the descriptor stays open. */
export function unlockFd(fd: number): void {
  fs.ftruncateSync(fd, 0);
  flockUnlock(fd);
}

/** Takes the lock, waiting up to `timeoutMs`, else throws BUSY naming the holder's pid. */
export function acquireLock(lockPath: string, opts: LockOptions): HeldLock {
  const fd = openLockFile(lockPath);
  try {
    lockFd(fd, lockPath, opts);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return held(fd, false);
}

/** Takes the lock without waiting; null when held by someone else. */
export function tryLock(lockPath: string): HeldLock | null {
  const fd = openLockFile(lockPath);
  if (!flockTryExclusive(fd)) {
    fs.closeSync(fd);
    return null;
  }
  return held(fd);
}
