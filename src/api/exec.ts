/**
 * `exec` for the Node API: the agent runs a command with the secrets injected and streams
 * its masked output back (the exec wire contract, docs/spec/agent-protocol.md `exec`).
 * Frames: `pending` (approval), `chunk` ({stream, data: base64 of masked bytes}), then one
 * final `exit` ({code | signal, masked}) or `error`. Control requests name the exec by id:
 * `input` (data / eof), `signal`, `resize`. Closing the connection kills the command.
 */
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import type { RequestOptions } from '../core/agent/client.js';
import type { Reply } from '../core/agent/reply-check.js';
import { SesameError } from '../core/errors.js';

/** How to run it. */
export interface ExecOptions {
  project?: string;
  /** Working directory (absolute; default: this process's). */
  cwd?: string;
  /** Inject only these keys. */
  only?: string[];
  /** Inject only keys starting with this. */
  prefix?: string;
  /** Let the program write to the command's stdin (`write`, `end`). */
  stdin?: boolean;
  /** Run it on a pseudo-terminal of this size (output then comes on stdout only). */
  pty?: { rows: number; cols: number };
  /** Kill it after this many seconds. */
  timeoutS?: number;
}

/** How it ended: an exit code or a signal, and how many times each key's value was masked. */
export interface ExecExit {
  code: number | null;
  signal: string | null;
  masked: Record<string, number>;
}

type Send = <T>(fields: Record<string, unknown>, check: (r: Reply) => T, opts?: RequestOptions) => Promise<T>;

/** A running command: its masked output as streams, its exit as a promise, and its controls. */
export class ExecStream {
  /** The command's masked stdout (and, with a pty, everything). */
  readonly stdout: Readable;
  /** The command's masked stderr. */
  readonly stderr: Readable;
  /** Resolves when it ends; rejects with the agent's error (DENIED, NOT_FOUND, …). */
  readonly exit: Promise<ExecExit>;
  readonly #send: Send;
  readonly #id: Promise<number>;

  /** @internal */
  constructor(send: Send, argv: readonly string[], opts: ExecOptions & { project: string }, fail: (e: unknown) => never) {
    this.#send = send;
    const out = new PassThrough();
    const err = new PassThrough();
    this.stdout = out;
    this.stderr = err;
    let gotId: (id: number) => void = () => {};
    this.#id = new Promise((r) => (gotId = r));
    const fields: Record<string, unknown> = {
      op: 'exec',
      project: opts.project,
      argv: [...argv],
      cwd: opts.cwd ?? process.cwd(),
      ...(opts.only ? { only: opts.only } : {}),
      ...(opts.prefix !== undefined ? { prefix: opts.prefix } : {}),
      ...(opts.stdin ? { stdin: true } : {}),
      ...(opts.pty ? { pty: opts.pty } : {}),
      ...(opts.timeoutS !== undefined ? { timeout_s: opts.timeoutS } : {}),
    };
    this.exit = send(fields, checkExit, {
      timeoutMs: opts.timeoutS !== undefined ? (opts.timeoutS + 30) * 1000 : 24 * 3600 * 1000,
      exit: true,
      onId: gotId,
      onFrame: (f) => {
        if (f.frame !== 'chunk') return;
        if ((f.stream !== 'stdout' && f.stream !== 'stderr') || typeof f.data !== 'string') return;
        (f.stream === 'stdout' ? out : err).write(Buffer.from(f.data, 'base64'));
      },
    }).then(
      (x) => {
        out.end();
        err.end();
        return x;
      },
      (e: unknown) => {
        out.end();
        err.end();
        return fail(e);
      },
    );
    this.exit.catch(() => {}); // the caller awaits it; an unobserved failure is not a crash
  }

  /** Writes to the command's stdin (needs `stdin: true`). */
  async write(data: Buffer | string): Promise<void> {
    const b = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
    await this.#control({ op: 'input', data: b.toString('base64') });
  }

  /** Closes the command's stdin. */
  async end(): Promise<void> {
    await this.#control({ op: 'input', eof: true });
  }

  /** Sends a signal to the command's process group. */
  async kill(signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGQUIT' = 'SIGTERM'): Promise<void> {
    await this.#control({ op: 'signal', signal });
  }

  /** Resizes the pseudo-terminal. */
  async resize(rows: number, cols: number): Promise<void> {
    await this.#control({ op: 'resize', rows, cols });
  }

  async #control(fields: Record<string, unknown>): Promise<void> {
    const ref = await this.#id;
    await this.#send({ ...fields, ref }, () => undefined);
  }
}

/** The final `exit` frame (the contract's shape); anything else is PROTOCOL. */
function checkExit(r: Reply): ExecExit {
  const x = r as Record<string, unknown>;
  if (x.frame !== 'exit') throw new SesameError('PROTOCOL', `exec ended with a "${String(x.frame)}" frame instead of "exit"`);
  const masked: Record<string, number> = Object.create(null) as Record<string, number>;
  if (x.masked !== undefined) {
    if (typeof x.masked !== 'object' || x.masked === null) throw new SesameError('PROTOCOL', 'exit.masked is not an object');
    for (const [k, v] of Object.entries(x.masked)) if (typeof v === 'number') masked[k] = v;
  }
  const code = Number.isSafeInteger(x.code) ? (x.code as number) : null;
  const signal = typeof x.signal === 'string' ? x.signal : null;
  if (code === null && signal === null) throw new SesameError('PROTOCOL', 'exit has neither code nor signal');
  return { code, signal, masked };
}

/** Starts an exec (the API's `exec`). */
export function startExec(send: Send, argv: readonly string[], opts: ExecOptions & { project: string }, fail: (e: unknown) => never): ExecStream {
  return new ExecStream(send, argv, opts, fail);
}
