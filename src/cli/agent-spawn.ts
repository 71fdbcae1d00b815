/**
 * `agent start --background`: the passphrase was asked here, in the foreground; now start
 * a detached agent (its own entry, dist/sesame-agent.cjs from src/daemon/main.ts, found next
 * to this CLI's bundle) and return once its socket answers.
 *
 * What the child inherits (and nothing else):
 *   fd 0-2  /dev/null — the detached agent never writes to the terminal it left
 *   fd 3    a channel (libuv makes it a socketpair) on which the child reports one line:
 *           ready, or the error that stopped it; we never write on it
 *   fd 4    the locked agent.lock (the lock never lapses between parent and child)
 * No fd that will carry the key exists in the child at spawn: it hardens itself first, then
 * connects to a hand-off socket whose path it gets in argv, and we send the key only to a
 * peer the kernel says is exactly that child (core/agent/handoff.ts).
 * Its environment is ours minus SESAME_PASSPHRASE and SESAME_PASSPHRASE_FILE, neither its
 * node flags nor NODE_OPTIONS keep an --inspect/--debug option, and its V8 heap is capped
 * (AGENT_HEAP_MB) so a runaway heap ends in a prompt, bounded death, not in swapping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { daemonArgv } from '../daemon/args.js';
import { SesameError, isErrorCode } from '../core/errors.js';
import { isDebuggerFlag } from '../core/agent/doors.js';
import type { SecureKey } from '../core/crypto/sodium.js';
import type { AgentLock } from '../core/agent/lockfile.js';
import type { SessionLimits } from '../core/agent/session.js';
import type { Ctx } from './context.js';
import { fmtDuration } from './durations.js';
import { info, json } from './output.js';

/** The fds the detached agent inherits (see the header); src/daemon/main.ts uses the same numbers. */
export const CHILD_FD = { ready: 3, lock: 4 } as const;
/**
 * --max-old-space-size of the detached agent, MB. The agent's own heap is small (the vault
 * and replies in flight; conn.ts bounds unsent replies); 256 MB leaves ample room while
 * keeping a leak or an abusive client from growing it without limit.
 */
export const AGENT_HEAP_MB = 256;
const READY_TIMEOUT_MS = 15_000;

/**
 * Takes ownership of `master` (wiped here) and `lock` (handed to the child). Returns the
 * exit code once the child answers on its socket; throws the child's own start error.
 */
export async function startBackground(
  ctx: Ctx,
  master: SecureKey,
  lock: AgentLock,
  limits: SessionLimits,
  opts: { allowDebugger?: boolean; requireToken?: boolean; cells?: boolean; sessionDigest?: string; writes?: boolean } = {},
): Promise<number> {
  const { openKeyOffer } = await import('../core/agent/handoff.js');
  let offer: Awaited<ReturnType<typeof openKeyOffer>>;
  try {
    offer = await openKeyOffer(handoffBase(ctx));
  } catch (e) {
    master.dispose();
    lock.release(true);
    throw e;
  }
  let child: ChildProcess;
  try {
    const args = [
      ...nodeFlags(process.execArgv),
      `--max-old-space-size=${AGENT_HEAP_MB}`,
      agentEntry(),
      ...daemonArgv({
        home: ctx.paths.home,
        idleMs: limits.idleMs,
        ttlMs: limits.ttlMs,
        ...(limits.evictAfterMs !== undefined ? { evictAfterMs: limits.evictAfterMs } : {}),
        handoff: offer.path,
        allowDebugger: opts.allowDebugger === true,
        requireToken: opts.requireToken === true,
        ...(opts.cells ? { cells: true } : {}),
        ...(opts.sessionDigest !== undefined ? { sessionDigest: opts.sessionDigest } : {}),
        ...(opts.writes ? { writes: true } : {}),
      }),
    ];
    child = spawn(process.execPath, args, { detached: true, cwd: '/', env: childEnv(ctx), stdio: ['ignore', 'ignore', 'ignore', 'pipe', lock.fd] });
  } catch (e) {
    offer.close();
    master.dispose();
    lock.release(true);
    throw e;
  }
  lock.handOff();
  const ready = readReady(child, ctx);
  // Registered synchronously after spawn: the child cannot connect before this runs.
  const sent = child.pid === undefined ? Promise.reject(new SesameError('ERROR', 'the agent process has no pid')) : offer.send(master, child.pid);
  sent.catch(() => {}); // observed below; never an unhandled rejection
  try {
    await Promise.race([sent, ready.then(() => {})]);
  } catch {
    /* the ready report explains */
  } finally {
    offer.close();
    master.dispose();
  }
  const pid = await ready;
  const { connectAgent } = await import('../core/agent/client.js');
  const client = await connectAgent(ctx.paths.agentSock, ctx.env);
  if (!client) throw new SesameError('UNAVAILABLE', `the agent (pid ${pid}) started but its socket does not answer`, { hint: `see ${ctx.paths.agentLog}` });
  try {
    // With --require-token and no SESAME_AGENT_TOKEN, a denial is still the agent answering.
    await client.status().catch((e: unknown) => {
      if (!((opts.requireToken || opts.sessionDigest !== undefined) && e instanceof SesameError && e.code === 'DENIED')) throw e;
    });
  } finally {
    client.close();
  }
  child.unref();
  if (ctx.json) json({ started: true, pid, socket: ctx.paths.agentSock, idle_s: limits.idleMs / 1000, ttl_s: limits.ttlMs / 1000 });
  else info(`sesame agent started (pid ${pid}) on ${ctx.paths.agentSock}; idle ${fmtDuration(limits.idleMs)}, ttl ${fmtDuration(limits.ttlMs)}`);
  return 0;
}

/** The detached agent's entry file, built by scripts/build.mjs next to the CLI. */
export const AGENT_ENTRY = 'sesame-agent.cjs';

/**
 * The path of the agent's entry: in this module's directory or its parent (the bundle puts
 * this code in dist/sesame.cjs, dist/cli.mjs or a chunk in dist/chunks/). Throws ERROR when
 * it is missing (an incomplete install).
 */
export function agentEntry(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [here, path.dirname(here)]) {
    const p = path.join(dir, AGENT_ENTRY);
    if (fs.existsSync(p)) return p;
  }
  throw new SesameError('ERROR', `the agent's entry ${AGENT_ENTRY} is missing next to sesame (${here})`, { hint: 'reinstall sesame (or rebuild it: npm run build)' });
}

/**
 * Where the hand-off directory goes: $XDG_RUNTIME_DIR when it is a private directory of
 * ours (tmpfs, per user), else the sesame home (0700). Never a shared /tmp.
 */
function handoffBase(ctx: Ctx): string {
  const xdg = ctx.env.XDG_RUNTIME_DIR;
  if (xdg && path.isAbsolute(xdg)) {
    try {
      const st = fs.statSync(xdg);
      const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
      if (st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0 && path.join(xdg, '.sesame-handoff-XXXXXX/k').length < 100) return xdg;
    } catch {
      /* absent: the home */
    }
  }
  return ctx.paths.home;
}

/** Our node flags minus any debugger: an inspector port would undo the agent's hardening. */
function nodeFlags(flags: string[]): string[] {
  return flags.filter((f) => !isDebuggerFlag(f));
}

function childEnv(ctx: Ctx): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...ctx.env, SESAME_HOME: ctx.paths.home };
  delete env.SESAME_PASSPHRASE;
  delete env.SESAME_PASSPHRASE_FILE;
  delete env.SESAME_AGENT_TOKEN; // a bearer token the agent never uses
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
    const t = setTimeout(() => {
      settle({ error: new SesameError('UNAVAILABLE', `the agent did not report ready within ${READY_TIMEOUT_MS / 1000} s`, { hint: `see ${ctx.paths.agentLog}` }) });
    }, READY_TIMEOUT_MS);
    child.once('error', (e) => {
      settle({ error: new SesameError('ERROR', `could not start the agent process: ${e.message}`) });
    });
    pipe.setEncoding('utf8');
    pipe.on('error', () => {});
    pipe.on('data', (s: string) => {
      text += s;
      const nl = text.indexOf('\n');
      if (nl !== -1) settle(parseReady(text.slice(0, nl)));
    });
    pipe.on('close', () => {
      settle({ error: new SesameError('ERROR', 'the agent exited during start', { hint: `see ${ctx.paths.agentLog}` }) });
    });
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
