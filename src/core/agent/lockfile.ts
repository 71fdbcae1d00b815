/**
 * Single instance per home: an exclusive flock on `agent.lock`, recording the holder's pid.
 *
 * The lock can travel: `agent start --background` takes it in the foreground (so "already
 * running" is reported before any passphrase prompt), passes the locked fd to the detached
 * agent, and closes its own copy WITHOUT unlocking (`handOff`); the agent `adopt`s it.
 * flock belongs to the open file description, so the lock never lapses in between.
 *
 * `release(true)` removes the file, then unlocks. A racing starter that locked the old,
 * unlinked inode notices (the path no longer names its inode) and retries.
 */
import * as fs from 'node:fs';
import { SesameError } from '../errors.js';
import { lockHolder, recordHolder, tryLock } from '../fs/lock.js';
import { flockTryExclusive, flockUnlock } from '../os/native.js';

export interface AgentLock {
  readonly fd: number;
  readonly path: string;
  /** Unlocks and closes; with `remove`, unlinks the file first (if it is still ours). */
  release(remove: boolean): void;
  /** Closes our fd without unlocking: a child that inherited it keeps the lock. */
  handOff(): void;
}

/** ERROR "the agent is already running (pid N)", naming the pid recorded in the lock file. */
export function alreadyRunning(lockPath: string): SesameError {
  const pid = lockHolder(lockPath);
  return new SesameError('ERROR', `the agent is already running${pid ? ` (pid ${pid})` : ''}`, {
    remedy: 'agent_running',
    detail: pid ? { pid } : {},
  });
}

/** Takes the agent lock without waiting; ERROR "already running (pid N)" when held. */
export function takeAgentLock(lockPath: string): AgentLock {
  for (let attempt = 0; attempt < 5; attempt++) {
    const held = tryLock(lockPath);
    if (!held) throw alreadyRunning(lockPath);
    if (namesInode(lockPath, held.fd)) return wrap(held.fd, lockPath);
    fs.closeSync(held.fd); // we locked an inode that was just unlinked: try again
  }
  throw new SesameError('BUSY', `could not take ${lockPath}: it keeps changing`, { hint: 'another sesame agent is starting or stopping; try again' });
}

/** Adopts a lock fd inherited from the process that took it. */
export function adoptAgentLock(fd: number, lockPath: string): AgentLock {
  if (!flockTryExclusive(fd) || !namesInode(lockPath, fd)) {
    fs.closeSync(fd);
    throw alreadyRunning(lockPath);
  }
  recordHolder(fd);
  return wrap(fd, lockPath);
}

function namesInode(p: string, fd: number): boolean {
  try {
    return fs.statSync(p).ino === fs.fstatSync(fd).ino;
  } catch {
    return false;
  }
}

function wrap(fd: number, lockPath: string): AgentLock {
  let done = false;
  return {
    fd,
    path: lockPath,
    release(remove) {
      if (done) return;
      done = true;
      try {
        if (remove && namesInode(lockPath, fd)) fs.unlinkSync(lockPath);
      } catch {
        /* already gone */
      }
      try {
        flockUnlock(fd);
      } finally {
        fs.closeSync(fd);
      }
    },
    handOff() {
      if (done) return;
      done = true;
      fs.closeSync(fd);
    },
  };
}
