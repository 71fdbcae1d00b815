/**
 * The one module that owns output rules: data to stdout, messages to stderr, `error:` and
 * `hint:` lines, `--json` error objects, and the map from error codes to exit codes.
 * Writes are synchronous so nothing is lost when the process exits.
 */
import * as fs from 'node:fs';
import { EXIT_CODES, SesameError, ioError } from '../core/errors.js';

function writeAll(fd: number, data: Buffer | string): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (code === 'EPIPE') return;
      throw e;
    }
  }
}

/** Data for stdout (a value, a listing, JSON). */
export function out(data: Buffer | string): void {
  writeAll(1, data);
}

/** A secret value and one newline for stdout; wipes the value and the line once written. */
export function outValueLine(v: Buffer): void {
  const line = Buffer.alloc(v.length + 1);
  v.copy(line);
  line[v.length] = 0x0a;
  v.fill(0);
  out(line);
  line.fill(0);
}

/** Sets the process's exit code from a command's outcome (never calls process.exit). */
export function settle(p: Promise<number>): void {
  p.then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.exitCode = reportError(e, false);
    },
  );
}

/** A human message for stderr. */
export function info(msg: string): void {
  writeAll(2, `${msg}\n`);
}

export function warn(msg: string): void {
  writeAll(2, `warning: ${msg}\n`);
}

export function json(value: unknown): void {
  writeAll(1, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * What to do about an I/O error, by errno (`detail.errno` of core's ioError). The core says
 * what happened; this says what the user can do, in the CLI's words. Never suggests loosening
 * a permission.
 */
function ioHint(detail: Record<string, unknown>): string | undefined {
  const p = typeof detail.path === 'string' ? detail.path : undefined;
  const where = p ? ` '${p}'` : '';
  if (detail.written === true) {
    return 'the new contents are in place, but the storage failed to confirm them: check the disk (dmesg), and after a crash or power loss check that the change is still there before relying on it';
  }
  switch (detail.errno) {
    case 'ENOSPC':
      return `free some space on that file system (see: df -h${where}), then run the command again`;
    case 'EDQUOT':
      return 'free some space within your disk quota (see: quota -s), or ask your administrator for more, then run the command again';
    case 'EACCES':
    case 'EPERM':
      return `check the owner and permissions of${where || ' the path'} and every directory above it (ls -ld), or use a --home (SESAME_HOME) you own`;
    case 'EROFS':
      return 'that file system is mounted read-only: remount it read-write, or use a --home (SESAME_HOME) on a writable file system';
    case 'ELOOP':
      return `a symlink on that path points back at itself: look at${where || ' the path'} and the directories above it (ls -l) and replace the loop with a real file or directory`;
    case 'EIO':
      return 'the disk or file system reported a failure: check it (dmesg, the device\'s health) and keep a backup of your vault before trying again';
    case 'EMFILE':
    case 'ENFILE':
      return 'close some programs or raise the open-file limit (ulimit -n), then run the command again';
    case 'ENOTDIR':
    case 'EISDIR':
    case 'ENAMETOOLONG':
      return 'check the path (and SESAME_HOME / --home)';
    case 'ENOMEM':
      return 'free some memory, then run the command again';
    default:
      return undefined;
  }
}

/** Prints an error the way users and scripts expect; returns the exit code. */
export function reportError(e: unknown, asJson: boolean): number {
  e = ioError(e) ?? e;
  if (e instanceof SesameError) {
    const hint = e.hint ?? (e.detail && typeof e.detail.errno === 'string' ? ioHint(e.detail) : undefined);
    if (asJson) {
      json({ error: e.code.toLowerCase(), code: e.code, message: e.message, ...(hint ? { hint } : {}), ...(e.detail ?? {}) });
    } else {
      info(`error: ${e.message}`);
      if (hint) info(`hint: ${hint}`);
    }
    return EXIT_CODES[e.code];
  }
  const err = e as NodeJS.ErrnoException;
  const msg = err && typeof err.message === 'string' ? err.message : String(e);
  if (asJson) json({ error: 'error', code: 'ERROR', message: `internal error: ${msg}` });
  else {
    info(`error: internal error: ${msg}`);
    info('hint: this is a bug in sesame; please report it with the command you ran (never include a secret)');
  }
  return 1;
}
