/**
 * `run` through the agent's `exec` op (docs/spec/agent-protocol.md, "exec"): the agent runs
 * the command with the secrets in its environment and streams its masked output back; this
 * process behaves like the command run locally:
 * - exit status: the child's code; a child killed by a signal re-raises that signal here (so
 *   the shell sees 128+N), 128+N when it cannot be re-raised;
 * - stdin is forwarded (`input` frames, `eof` at its end); on a terminal (stdin and stdout
 *   both ttys) the child gets a pty of the same size, stdin goes raw (so Ctrl-C is the
 *   child's terminal's business, as locally), SIGWINCH becomes `resize`;
 * - SIGINT, SIGTERM, SIGHUP, SIGQUIT sent to this process are forwarded to the child's
 *   process group (`signal`); if the agent connection drops, the agent kills the group.
 * - a value too short to mask is named once on stderr.
 * - while the exec waits for the owner's approval (a `pending` frame, until its first output),
 *   Ctrl-C (the signal, or the byte on a raw terminal) and the other forwarded signals do not
 *   wait to be forwarded to a child that has not started: the connection is closed, so the
 *   agent withdraws the request (or, if it was approved meanwhile, kills the child), exit 130.
 * The masked output arrives as base64 strings (it is not secret once masked).
 */
import * as os from 'node:os';
import { SesameError } from '../core/errors.js';
import type { AgentClient } from '../core/agent/client.js';
import { badReply, type Reply } from '../core/agent/reply-check.js';
import { isValidKeyName } from '../core/names.js';
import { warn } from './output.js';
import { pendingNote } from './pending-note.js';

/** How an exec ended, as its `exit` frame says. */
export interface ExitInfo {
  code?: number;
  signal?: string;
  masked: Record<string, number>;
  tooShort: string[];
}

/** The `exit` frame's members, checked. */
export function checkExitFrame(r: Reply): ExitInfo {
  const masked: Record<string, number> = {};
  if (r.masked !== undefined) {
    if (typeof r.masked !== 'object' || r.masked === null || Array.isArray(r.masked)) throw badReply('"masked" is not an object');
    for (const [k, n] of Object.entries(r.masked as Record<string, unknown>)) {
      if (!isValidKeyName(k) || !Number.isSafeInteger(n) || (n as number) < 0) throw badReply('"masked" is not key names with counts');
      masked[k] = n as number;
    }
  }
  const tooShort = Array.isArray(r.too_short) ? r.too_short.filter((k): k is string => typeof k === 'string' && isValidKeyName(k)) : [];
  if (Number.isSafeInteger(r.code) && (r.code as number) >= 0 && (r.code as number) <= 255) return { code: r.code as number, masked, tooShort };
  if (typeof r.signal === 'string' && /^SIG[A-Z0-9]{1,12}$/.test(r.signal)) return { signal: r.signal, masked, tooShort };
  throw badReply('an exit frame needs code (0-255) or signal');
}

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/** Runs `argv` through the agent's exec; resolves with the exit status to use (after re-raising a signal, if it returns). */
export async function runRemote(client: AgentClient, project: string, sel: { only?: string[]; prefix?: string }, argv: string[]): Promise<number> {
  const stdin = process.stdin;
  const term = stdin.isTTY && process.stdout.isTTY;
  let size: { rows: number; cols: number } | null = null;
  if (term) size = { rows: process.stdout.rows || 24, cols: process.stdout.columns || 80 };
  let id: number | undefined;
  const pending: Array<Record<string, unknown>> = [];
  const control = (fields: Record<string, unknown>): void => {
    if (id === undefined) {
      pending.push(fields);
      return;
    }
    client
      .request({ ...fields, ref: id }, () => undefined, { timeoutMs: 30_000 })
      .catch(() => {
        /* the exec may have ended meanwhile */
      });
  };
  // Waiting for the owner's approval: a pending frame came and no output yet.
  const st = { waiting: false, interrupted: false };
  const interrupt = (): void => {
    st.interrupted = true;
    client.close();
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (st.waiting) interrupt();
    else control({ op: 'signal', signal: sig });
  };
  const onWinch = (): void => {
    control({ op: 'resize', rows: process.stdout.rows || 24, cols: process.stdout.columns || 80 });
  };
  for (const s of FORWARDED) process.on(s, onSignal);
  if (term) process.stdout.on('resize', onWinch);
  const onData = (b: Buffer): void => {
    if (st.waiting && raw && b.includes(3)) {
      interrupt();
      return;
    }
    for (let o = 0; o < b.length; o += 32 * 1024) control({ op: 'input', data: b.subarray(o, o + 32 * 1024).toString('base64') });
  };
  const onEnd = (): void => {
    control({ op: 'input', eof: true });
  };
  let raw = false;
  if (term) {
    stdin.setRawMode(true);
    raw = true;
  }
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  stdin.on('error', onEnd);
  const out = { stdout: process.stdout, stderr: process.stderr };
  let info: ExitInfo;
  try {
    info = await client.request(
      {
        op: 'exec',
        project,
        argv,
        cwd: process.cwd(),
        stdin: true,
        ...(sel.only ? { only: sel.only } : {}),
        ...(sel.prefix !== undefined ? { prefix: sel.prefix } : {}),
        ...(size ? { pty: size } : {}),
      },
      checkExitFrame,
      {
        exit: true,
        // No deadline in practice (12 days), with room below the timer's 2^31-1 ms limit for the
        // extension each approval `pending` frame adds (up to a day): past it a timer fires at once.
        timeoutMs: 2 ** 30,
        onId: (n) => {
          id = n;
          for (const f of pending.splice(0)) control(f);
        },
        onFrame: (f) => {
          if (f.frame === 'pending') {
            st.waiting = true;
            pendingNote(f);
          }
          if (f.frame !== 'chunk') return;
          st.waiting = false;
          if ((f.stream !== 'stdout' && f.stream !== 'stderr') || typeof f.data !== 'string') throw badReply('a chunk frame needs stream stdout or stderr and data');
          out[f.stream].write(Buffer.from(f.data, 'base64'));
        },
      },
    );
  } catch (e) {
    if (!st.interrupted) throw e;
    process.stderr.write("sesame: interrupted while waiting for the owner's approval; the request is withdrawn\n");
    return 130;
  } finally {
    for (const s of FORWARDED) process.off(s, onSignal);
    process.stdout.off('resize', onWinch);
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    // A file or /dev/null on stdin is an fs stream, which has no unref.
    const ref = stdin as unknown as { unref?: unknown };
    if (typeof ref.unref === 'function') stdin.unref();
    client.close();
  }
  return finishRun(info);
}

/** The end of a masked run (here or through exec): warns of the values too short to mask, lets stdout drain, then re-raises the command's signal or returns its status. */
export async function finishRun(r: { code?: number; signal?: string; tooShort: readonly string[] }): Promise<number> {
  if (r.tooShort.length) warn(`not masked (too short to mask safely): ${r.tooShort.join(', ')}`);
  await new Promise<void>((res) => {
    process.stdout.write('', () => {
      res();
    });
  });
  if (r.signal !== undefined) return reraise(r.signal);
  return r.code ?? 1;
}

/** Ends this process by `signal` (its default action), as the child ended; 128+N if that does not end it. */
function reraise(signal: string): number {
  const n: number | undefined = (os.constants.signals as Record<string, number | undefined>)[signal];
  if (n === undefined) return 1;
  try {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } catch {
    /* not a signal we can send ourselves */
  }
  return 128 + n;
}

/** True for the agent's refusal of values to a profile that does not reveal them (exec may still run). */
export function isRevealDenied(e: unknown): boolean {
  return e instanceof SesameError && e.code === 'DENIED' && (e.detail as { reason?: unknown } | undefined)?.reason === 'reveal';
}
