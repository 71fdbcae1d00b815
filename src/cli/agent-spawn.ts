/**
 * `agent start --background`: the passphrase was asked here, in the foreground; now start
 * a detached agent (this CLI re-executed as `agent __serve`) and return once its socket
 * answers.
 *
 * What the child inherits (and nothing else):
 *   fd 0-2  /dev/null — the detached agent never writes to the terminal it left
 *   fd 3    a pipe carrying the 32-byte master key (never argv, never the environment)
 *   fd 4    a pipe on which the child reports one line: ready, or the error that stopped it
 *   fd 5    the locked agent.lock (the lock never lapses between parent and child)
 * Its environment is ours minus SESAME_PASSPHRASE and SESAME_PASSPHRASE_FILE, and neither
 * its node flags nor NODE_OPTIONS keep an --inspect/--debug option.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { SesameError, isErrorCode } from '../core/errors.js';
import type { SecureKey } from '../core/crypto/sodium.js';
import type { AgentLock } from '../core/agent/lockfile.js';
import type { SessionLimits } from '../core/agent/session.js';
import type { Ctx } from './context.js';
import { fmtDuration } from './durations.js';
import { info, json } from './output.js';

/** The fds the detached agent inherits (see the header); shared with `agent __serve`. */
export const CHILD_FD = { key: 3, ready: 4, lock: 5 } as const;
const READY_TIMEOUT_MS = 15_000;

/**
 * Takes ownership of `master` (wiped here) and `lock` (handed to the child). Returns the
 * exit code once the child answers on its socket; throws the child's own start error.
 */
export async function startBackground(ctx: Ctx, master: SecureKey, lock: AgentLock, limits: SessionLimits): Promise<number> {
  const args = [...nodeFlags(process.execArgv), process.argv[1]!, 'agent', '__serve', '--home', ctx.paths.home, '--idle', `${limits.idleMs}ms`, '--ttl', `${limits.ttlMs}ms`];
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, { detached: true, cwd: '/', env: childEnv(ctx), stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe', lock.fd] });
  } catch (e) {
    master.dispose();
    lock.release(true);
    throw e;
  }
  lock.handOff();
  const ready = readReady(child, ctx);
  const { sendKey } = await import('../core/agent/handoff.js');
  try {
    await sendKey(child.stdio[CHILD_FD.key] as Writable, master);
  } catch {
    /* the ready report explains */
  } finally {
    master.dispose();
  }
  const pid = await ready;
  const { connectAgent } = await import('../core/agent/client.js');
  const client = await connectAgent(ctx.paths.agentSock, ctx.env);
  if (!client) throw new SesameError('UNAVAILABLE', `the agent (pid ${pid}) started but its socket does not answer`, { hint: `see ${ctx.paths.agentLog}` });
  try {
    await client.status();
  } finally {
    client.close();
  }
  child.unref();
  if (ctx.json) json({ started: true, pid, socket: ctx.paths.agentSock, idle_s: limits.idleMs / 1000, ttl_s: limits.ttlMs / 1000 });
  else info(`sesame agent started (pid ${pid}) on ${ctx.paths.agentSock}; idle ${fmtDuration(limits.idleMs)}, ttl ${fmtDuration(limits.ttlMs)}`);
  return 0;
}

/** Our node flags minus any debugger: an inspector port would undo the agent's hardening. */
function nodeFlags(flags: string[]): string[] {
  return flags.filter((f) => !/^--(inspect|debug)/.test(f));
}

function childEnv(ctx: Ctx): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...ctx.env, SESAME_HOME: ctx.paths.home };
  delete env.SESAME_PASSPHRASE;
  delete env.SESAME_PASSPHRASE_FILE;
  if (env.NODE_OPTIONS) env.NODE_OPTIONS = nodeFlags(env.NODE_OPTIONS.split(/\s+/)).join(' ');
  if (ctx.env.SESAME_AGENT_SOCK) env.SESAME_AGENT_SOCK = ctx.paths.agentSock; // absolute: the child runs in /
  return env;
}

/**
 * Resolves with the child's pid once it reports ready; rejects with the error it reports,
 * or a generic one if its end of the pipe closes without a report (it died early).
 */
function readReady(child: ChildProcess, ctx: Ctx): Promise<number> {
  const pipe = child.stdio[CHILD_FD.ready] as Readable;
  const p = new Promise<number>((resolve, reject) => {
    let text = '';
    let done = false;
    const settle = (r: { pid: number } | { error: SesameError }): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      pipe.destroy();
      if ('pid' in r) resolve(r.pid);
      else reject(r.error);
    };
    const t = setTimeout(() => settle({ error: new SesameError('UNAVAILABLE', `the agent did not report ready within ${READY_TIMEOUT_MS / 1000} s`, { hint: `see ${ctx.paths.agentLog}` }) }), READY_TIMEOUT_MS);
    child.once('error', (e) => settle({ error: new SesameError('ERROR', `could not start the agent process: ${e.message}`) }));
    pipe.setEncoding('utf8');
    pipe.on('error', () => {});
    pipe.on('data', (s: string) => {
      text += s;
      const nl = text.indexOf('\n');
      if (nl !== -1) settle(parseReady(text.slice(0, nl)));
    });
    pipe.on('close', () => settle({ error: new SesameError('ERROR', 'the agent exited during start', { hint: `see ${ctx.paths.agentLog}` }) }));
  });
  p.catch(() => {}); // observed by the caller later; never an unhandled rejection meanwhile
  return p;
}

function parseReady(line: string): { pid: number } | { error: SesameError } {
  try {
    const o = JSON.parse(line) as { ok?: boolean; pid?: number; error?: { code?: string; message?: string; hint?: string } };
    if (o.ok && typeof o.pid === 'number') return { pid: o.pid };
    const e = o.error ?? {};
    return { error: new SesameError(isErrorCode(e.code) ? e.code : 'ERROR', e.message ?? 'the agent failed to start', e.hint ? { hint: e.hint } : {}) };
  } catch {
    return { error: new SesameError('ERROR', 'the agent sent a malformed ready report') };
  }
}
