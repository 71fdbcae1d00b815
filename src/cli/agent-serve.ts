/**
 * Runs the agent in this process (foreground `agent start`, or the detached agent's own
 * entry, src/daemon/main.ts), wiring process events to the core's single shutdown:
 * every catchable signal whose default action ends the process (TERMINATING_SIGNALS) stops
 * it through that shutdown, which wipes the key and removes every socket and agent.pid/lock,
 * and logs the signal's name; SIGHUP reloads the policy (core/policy/store.ts: swapped only
 * if every source loads, else the old one stays; either way one log line); SIGUSR1 is
 * ignored (logged; it would open Node's inspector, see early.ts); an uncaught exception or
 * an unhandled rejection shuts it down (key wiped, files removed, reason logged) and exits 1.
 *
 * Not handled, on purpose: SIGKILL and SIGSTOP (cannot be), and SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL (raised by a real fault, returning from a handler re-runs the fault). A V8
 * out-of-memory abort cannot run JavaScript either: the detached agent's heap is capped
 * (agent-spawn.ts) and a later `agent start` clears what a dead agent left.
 */
import type { SecureKey } from '../core/crypto/sodium.js';
import type { AgentHandle } from '../core/agent/daemon.js';
import type { HardeningReport } from '../core/agent/doors.js';
import type { AgentLock } from '../core/agent/lockfile.js';
import type { AgentLog } from '../core/agent/log.js';
import type { SessionLimits } from '../core/agent/session.js';
import type { HomePaths } from '../core/paths.js';
import { info } from './output.js';
import { fmtDuration } from './durations.js';

export interface ServeOptions {
  /** Messages on stderr (foreground); the detached agent has no terminal. */
  foreground: boolean;
  /** Called once the socket is listening. */
  ready?: (h: AgentHandle) => void;
  /** The preflight's report (core/agent/doors.ts), for `agent status --json`. */
  hardening?: HardeningReport;
  /** `--require-token`: the owner socket then needs SESAME_AGENT_TOKEN too. */
  requireToken?: boolean;
  /** `--cells`: also serve cells.sock. */
  cells?: boolean;
  /** `--session`: the hex SHA-256 of the session token (the token itself never reaches the agent process). */
  sessionDigest?: string;
  /** The environment profile sockets are placed with (XDG_RUNTIME_DIR; paths.ts `placeSocket`). */
  env?: NodeJS.ProcessEnv;
  /** `--writes`: the owner socket serves the owner's writes (core/agent/ops/write.ts). */
  writes?: boolean;
}

/** Serves until the agent stops; returns the exit code (1 after a crash). */
export async function serveHere(paths: HomePaths, master: SecureKey, lock: AgentLock, limits: SessionLimits, opts: ServeOptions): Promise<number> {
  const { startAgent } = await import('../core/agent/daemon.js');
  const { openAgentLog } = await import('../core/agent/log.js');
  const { VERSION } = await import('./version.js');
  const log = openAgentLog(paths.agentLog);
  const config = (await import('../core/config.js')).loadConfig(paths);
  const handle = await startAgent({
    paths,
    master,
    lock,
    limits,
    version: VERSION,
    log,
    // SESAME_AGENT_DEBUG=1: debug-level lines (names and kinds only, never a value) in agent.log.
    ...(process.env.SESAME_AGENT_DEBUG === '1'
      ? {
          debug: (m: string) => {
            log(`debug: ${m}`);
          },
        }
      : {}),
    requireToken: opts.requireToken === true,
    writes: opts.writes === true,
    ...(opts.cells ? { cells: true } : {}),
    approval: {
      approveOwner: config.approveOwner,
      ...(config.approvalTimeoutMs !== undefined ? { timeoutMs: config.approvalTimeoutMs } : {}),
      ...(config.approvalMaxMs !== undefined ? { maxMs: config.approvalMaxMs } : {}),
    },
    ...(opts.sessionDigest !== undefined ? { session: (await import('../core/policy/tokens.js')).sessionRecord(opts.sessionDigest) } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.hardening ? { hardening: opts.hardening } : {}),
  });
  const detach = installHandlers(handle, log);
  opts.ready?.(handle);
  if (opts.foreground) {
    for (const l of handle.listeners) if (l.kind === 'profile') info(`sesame agent: profile ${l.name ?? '?'} on ${l.socket}`);
    for (const l of handle.listeners) if (l.kind === 'cell') info(`sesame agent: cells on ${l.socket}`);
    info(
      `sesame agent: listening on ${handle.socket} (pid ${handle.pid})${opts.requireToken ? ', token required' : ''}${opts.writes ? ', writes on' : ''}; idle ${fmtDuration(limits.idleMs)}, ttl ${fmtDuration(limits.ttlMs)}; Ctrl-C stops it`,
    );
  }
  const reason = await handle.done;
  detach();
  if (opts.foreground) info(`sesame agent: stopped (${reason})`);
  return reason.startsWith('crash') ? 1 : 0;
}

/**
 * Linux signals whose default action terminates (or dumps core) and that Node lets a
 * process listen to, minus the fault signals above. SIGPIPE is already ignored by Node.
 */
export const TERMINATING_SIGNALS = [
  'SIGTERM',
  'SIGINT',
  'SIGQUIT',
  'SIGTRAP',
  'SIGABRT',
  'SIGUSR2',
  'SIGALRM',
  'SIGSTKFLT',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGIO',
  'SIGPWR',
  'SIGSYS',
] as const;

function installHandlers(handle: AgentHandle, log: AgentLog): () => void {
  const signals = TERMINATING_SIGNALS.filter((s) => process.platform === 'linux' || !['SIGSTKFLT', 'SIGPWR'].includes(s));
  const onSignal = (sig: NodeJS.Signals): void => {
    handle.shutdown(sig);
  };
  // Synchronous: the swap happens within this turn; connections are served before and after.
  const onHup = (): void => {
    handle.reload();
  };
  const onUsr1 = (): void => {
    log('SIGUSR1 received: ignored (the inspector stays closed)');
  };
  const crash = (what: string) => (e: unknown) => {
    const name = e instanceof Error ? `${e.name}: ${e.message}` : typeof e;
    handle.shutdown(`crash: ${what} (${name.slice(0, 200)})`);
    // Whatever threw may still hold the event loop open: make sure we leave.
    setTimeout(() => process.exit(1), 2000).unref();
  };
  const onExc = crash('uncaught exception');
  const onRej = crash('unhandled rejection');
  for (const s of signals) process.on(s, onSignal);
  process.on('SIGHUP', onHup);
  process.on('SIGUSR1', onUsr1);
  process.on('uncaughtException', onExc);
  process.on('unhandledRejection', onRej);
  return () => {
    for (const s of signals) process.off(s, onSignal);
    process.off('SIGHUP', onHup);
    process.off('SIGUSR1', onUsr1); // early.ts keeps ignoring it
    // Crash handlers stay: a late exception must not print a stack to a terminal.
  };
}
