/**
 * Runs the agent in this process (foreground `agent start`, or the detached child of
 * `agent start --background`), wiring process events to the core's single shutdown:
 * SIGTERM and SIGINT stop it; SIGHUP is ignored (logged); an uncaught exception or an
 * unhandled rejection shuts it down (key wiped, files removed, reason logged) and exits 1.
 */
import type { SecureKey } from '../core/crypto/sodium.js';
import type { AgentHandle } from '../core/agent/daemon.js';
import type { AgentLock } from '../core/agent/lockfile.js';
import type { AgentLog } from '../core/agent/log.js';
import type { SessionLimits } from '../core/agent/session.js';
import type { Ctx } from './context.js';
import { info } from './output.js';
import { fmtDuration } from './durations.js';

export interface ServeOptions {
  /** Messages on stderr (foreground); the detached agent has no terminal. */
  foreground: boolean;
  /** Called once the socket is listening. */
  ready?: (h: AgentHandle) => void;
}

/** Serves until the agent stops; returns the exit code (1 after a crash). */
export async function serveHere(ctx: Ctx, master: SecureKey, lock: AgentLock, limits: SessionLimits, opts: ServeOptions): Promise<number> {
  const { startAgent } = await import('../core/agent/daemon.js');
  const { openAgentLog } = await import('../core/agent/log.js');
  const { VERSION } = await import('./version.js');
  const log = openAgentLog(ctx.paths.agentLog);
  const handle = await startAgent({ paths: ctx.paths, master, lock, limits, version: VERSION, log });
  const detach = installHandlers(handle, log);
  opts.ready?.(handle);
  if (opts.foreground) {
    info(`sesame agent: listening on ${handle.socket} (pid ${handle.pid}); idle ${fmtDuration(limits.idleMs)}, ttl ${fmtDuration(limits.ttlMs)}; Ctrl-C stops it`);
  }
  const reason = await handle.done;
  detach();
  if (opts.foreground) info(`sesame agent: stopped (${reason})`);
  return reason.startsWith('crash') ? 1 : 0;
}

function installHandlers(handle: AgentHandle, log: AgentLog): () => void {
  const onTerm = (): void => handle.shutdown('SIGTERM');
  const onInt = (): void => handle.shutdown('SIGINT');
  const onHup = (): void => log('SIGHUP received: ignored');
  const crash = (what: string) => (e: unknown) => {
    const name = e instanceof Error ? `${e.name}: ${e.message}` : typeof e;
    handle.shutdown(`crash: ${what} (${name.slice(0, 200)})`);
    // Whatever threw may still hold the event loop open: make sure we leave.
    setTimeout(() => process.exit(1), 2000).unref();
  };
  const onExc = crash('uncaught exception');
  const onRej = crash('unhandled rejection');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);
  process.on('uncaughtException', onExc);
  process.on('unhandledRejection', onRej);
  return () => {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGHUP', onHup);
    // Crash handlers stay: a late exception must not print a stack to a terminal.
  };
}
