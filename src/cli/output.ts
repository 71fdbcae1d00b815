/**
 * The one module that owns output rules: data to stdout, messages to stderr, `error:` and
 * `hint:` lines, `--json` error objects, and the map from error codes to exit codes.
 * Writes are synchronous so nothing is lost when the process exits.
 */
import * as fs from 'node:fs';
import { EXIT_CODES, SesameError } from '../core/errors.js';

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
      info(`error: internal error: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
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

/** Prints an error the way users and scripts expect; returns the exit code. */
export function reportError(e: unknown, asJson: boolean): number {
  if (e instanceof SesameError) {
    if (asJson) {
      json({ error: e.code.toLowerCase(), code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}), ...(e.detail ?? {}) });
    } else {
      info(`error: ${e.message}`);
      if (e.hint) info(`hint: ${e.hint}`);
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
