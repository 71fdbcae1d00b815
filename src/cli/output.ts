/**
 * The one module that owns output rules: data to stdout, messages to stderr, `error:` and
 * `hint:` lines, `--json` error objects, and the map from error codes to exit codes.
 * Writes are synchronous so nothing is lost when the process exits.
 */
import * as fs from 'node:fs';
import { allocSecret } from '../core/bytes.js';
import { SesameError, ioError, setHintRenderer } from '../core/errors.js';
import { DEFAULT_HINTS, ioHint, renderRemedy } from './hints.js';
import { EXIT_CODES } from './exit-codes.js';

/**
 * Every process that runs sesame's CLI — and the agent, which this CLI runs — words the
 * core's remedies in the CLI's terms (hints.ts). Installed when this module loads: every
 * entry (bin.ts, entry.ts) imports it before any command or the agent runs.
 */
setHintRenderer(renderRemedy);

export { EXIT_CODES };

/** The exit code of a command interrupted at a prompt (Ctrl-C), as a shell reports SIGINT. */
export const EXIT_INTERRUPTED = 130;

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
  const line = allocSecret(v.length + 1); // off V8's movable heap, so the wipe below reaches the only copy
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

/** Prints an error the way users and scripts expect; returns the exit code. */
export function reportError(e: unknown, asJson: boolean): number {
  e = ioError(e) ?? e;
  if (e instanceof SesameError) {
    const hint = e.hint ?? (e.detail && typeof e.detail.errno === 'string' ? ioHint(e.detail) : undefined) ?? DEFAULT_HINTS[e.code];
    if (asJson) {
      json({ error: e.code.toLowerCase(), code: e.code, message: e.message, ...(hint ? { hint } : {}), ...(e.remedy ? { remedy: e.remedy } : {}), ...(e.detail ?? {}) });
    } else {
      info(`error: ${e.message}`);
      if (hint) info(`hint: ${hint}`);
    }
    return e.detail?.interrupted === true ? EXIT_INTERRUPTED : EXIT_CODES[e.code];
  }
  const msg = e instanceof Error ? e.message : String(e);
  if (asJson) json({ error: 'error', code: 'ERROR', message: `internal error: ${msg}` });
  else {
    info(`error: internal error: ${msg}`);
    info('hint: this is a bug in sesame; please report it with the command you ran (never include a secret)');
  }
  return 1;
}
