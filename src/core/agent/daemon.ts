/**
 * The agent's lifecycle: bind, serve, expire, reload, and clean up on every exit path.
 *
 * `startAgent` takes ownership of the master key and the agent lock. It serves a LIST of
 * listeners (listeners.ts; today one, the owner socket) and decides against the policy in
 * a PolicyStore (policy/store.ts; `reload()` swaps it atomically, on SIGHUP from the entry).
 * From then on exactly one `shutdown(reason)` runs — for stop, idle, ttl, a signal, or a
 * crash — and it is synchronous, so it also works from an uncaughtException handler:
 *   stop accepting on every listener → unlink each socket (if still ours) → wipe every key →
 *   remove the pid file → remove and unlock agent.lock → log the reason → end the connections.
 *
 * The agent also stops by itself ("socket removed") when the owner socket's path no longer
 * names its socket, so an agent whose home was deleted does not linger unreachable.
 *
 * The core installs no process handlers (signals belong to the CLI); it hardens the
 * process (no core dumps, not ptrace-able by same-uid processes) before binding and
 * refuses to start if that did not take effect. The session's TTLs run on CLOCK_BOOTTIME,
 * which keeps counting while the machine is suspended.
 */
import * as fs from 'node:fs';
import type * as net from 'node:net';
import type { ListenerRef } from '../policy/caller.js';
import { PolicyStore, reloadLogLine, type ReloadResult } from '../policy/store.js';
import type { SecureKey } from '../crypto/sodium.js';
import { readRegularFile, writeFileAtomic } from '../fs/secure.js';
import type { HomePaths } from '../paths.js';
import { bootTimeMs, requireHardening } from '../os/native.js';
import { hardeningNow, type HardeningReport } from './doors.js';
import { serveConnection } from './conn.js';
import { dispatch, type DispatchDeps, type RequestContext } from './dispatch.js';
import type { AnyRequest } from './protocol-v2.js';
import { listVisible, readOne, readSelected } from '../access.js';
import { VaultKeeper } from './keeper.js';
import type { AgentLock } from './lockfile.js';
import type { AgentLog } from './log.js';
import { PROTOCOL_VERSION } from './protocol.js';
import { Session, type SessionLimits } from './session.js';
import { closeListeners, listenerInfo, lostListener, openListeners, ownerListener, type ListenerInfo, type ListenerSpec, type OpenListener } from './listeners.js';

export interface AgentOptions {
  paths: HomePaths;
  /** Ownership passes to the agent; wiped on every exit path (and if start fails). */
  master: SecureKey;
  /** Ownership passes to the agent; removed and unlocked on exit (and if start fails). */
  lock: AgentLock;
  limits: SessionLimits;
  version: string;
  log: AgentLog;
  /** Clock in ms that counts suspended time (default CLOCK_BOOTTIME; tests inject one). */
  clock?: () => number;
  /** The preflight's report (agentPreflight in doors.ts), shown by `status` as `hardening`. */
  hardening?: HardeningReport;
  /** Per-connection idle deadline in ms (default 10 s). */
  connIdleMs?: number;
  /** How often to check that our socket is still there, ms (default 5 s). */
  watchMs?: number;
  /** The sockets to serve (default: the owner socket alone, `ownerListener(paths)`). */
  listeners?: readonly ListenerSpec[];
  /** The policy in force (default: the owner alone, no loaders). */
  policy?: PolicyStore;
}

export interface AgentHandle {
  readonly pid: number;
  /** The owner socket. */
  readonly socket: string;
  /** Every socket served, for `status` (v2 `listeners`) and the log. */
  readonly listeners: readonly ListenerInfo[];
  readonly startedAt: string;
  /** Resolves with the exit reason once shutdown has run. */
  readonly done: Promise<string>;
  /** Stops the agent now; synchronous and idempotent. */
  shutdown(reason: string): void;
  /** Reloads the policy (SIGHUP): swapped only if every loader succeeds; logged either way. Never throws. */
  reload(): ReloadResult;
}

/**
 * Binds every listener and starts serving; resolves once listening (pid file written).
 * On failure everything taken is released (key wiped, lock removed) and the error thrown:
 * e.g. ERROR "an agent is already listening", INSECURE for a bad socket path.
 */
export async function startAgent(o: AgentOptions): Promise<AgentHandle> {
  const keeper = new VaultKeeper(o.master, o.paths);
  const specs = o.listeners ?? [ownerListener(o.paths)];
  const sock = specs.find((l) => l.ref.kind === 'owner')?.socket ?? o.paths.agentSock;
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  const store = o.policy ?? PolicyStore.open({ agentUid: uid });
  const sockets = new Set<net.Socket>();
  const startedAt = new Date().toISOString();
  const session = new Session(o.limits, o.clock ?? bootTimeMs);
  let open: OpenListener[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const closing = new AbortController();
  let resolveDone!: (r: string) => void;
  const done = new Promise<string>((r) => (resolveDone = r));

  /** Stops listening and releases everything taken: socket, key, pid file, lock. */
  const release = (): void => {
    closed = true;
    clearTimeout(timer);
    closeListeners(open);
    keeper.dispose();
    removePidFile(o.paths.agentPid);
    o.lock.release(true);
  };

  const shutdown = (reason: string): void => {
    if (closed) return;
    release();
    o.log(`stopped: ${reason}`);
    closing.abort(); // v2 requests in flight get their final UNAVAILABLE frame (conn.ts)
    for (const s of sockets) s.end();
    if (sockets.size)
      setTimeout(() => {
        sockets.forEach((s) => s.destroy());
      }, 500).unref();
    resolveDone(reason);
  };

  const status = (): Record<string, unknown> => {
    const r = session.remaining();
    return {
      pid: process.pid,
      socket: sock,
      started_at: startedAt,
      idle_s: o.limits.idleMs / 1000,
      ttl_s: o.limits.ttlMs / 1000,
      idle_remaining_s: r.idleMs === null ? null : Math.ceil(r.idleMs / 1000),
      absolute_remaining_s: Math.ceil(r.absoluteMs / 1000),
      version: o.version,
      protocol: PROTOCOL_VERSION,
      hardening: { ...hardeningNow(), tracer_pid_at_start: o.hardening?.tracer_pid_at_start ?? null },
    };
  };
  // v1's status object is fixed (its transcript has no room for more); the v2 status op adds
  // `listeners` from here: [{kind, name?, socket}], every socket this agent serves.
  const listeners = (): ListenerInfo[] => open.map(listenerInfo);
  const deps: DispatchDeps = { src: keeper, door: { readOne, readSelected, listVisible }, status, listeners };

  const hooksFor = (listener: ListenerRef) => ({
    uid,
    closing: closing.signal,
    listener,
    /** The snapshot in force; the connection takes it once per request. */
    policy: () => store.current(),
    ...(o.connIdleMs !== undefined ? { idleMs: o.connIdleMs } : {}),
    activity: () => {
      if (closed) return false;
      if (session.touch()) return true;
      shutdown(session.expired ?? 'expired');
      return false;
    },
    handle: (req: AnyRequest, rc: RequestContext) => dispatch(req, rc, deps),
    stopRequested: () => {
      shutdown('stop');
    },
    log: o.log,
  });
  const hooks = new Map(specs.map((s) => [s, hooksFor(s.ref)]));

  // Wakes at the next session deadline, and at least every watchMs to notice an orphaned
  // agent: its socket removed or replaced (e.g. the home deleted) means nobody can reach it.
  const tick = (): void => {
    const r = session.check();
    if (r) {
      shutdown(r);
      return;
    }
    if (lostListener(open.filter((l) => l.spec.ref.kind === 'owner'))) {
      shutdown('socket removed');
      return;
    }
    timer = setTimeout(tick, Math.min(o.watchMs ?? 5000, Math.max(1, session.wakeInMs())));
  };

  try {
    requireHardening('the agent');
    open = await openListeners(specs, (c, spec) => {
      const h = hooks.get(spec);
      if (closed || !h) {
        c.destroy();
        return;
      }
      sockets.add(c);
      c.on('close', () => sockets.delete(c));
      serveConnection(c, h);
    });
    writeFileAtomic(o.paths.agentPid, `${process.pid}\n`);
  } catch (e) {
    release();
    o.log(`failed to start: ${e instanceof Error ? e.message : 'error'}`);
    throw e;
  }
  tick();
  const others = open.filter((l) => l.spec.ref.kind !== 'owner').map((l) => `${l.spec.ref.kind}${l.spec.ref.name === undefined ? '' : `:${l.spec.ref.name}`} ${l.spec.socket}`);
  o.log(
    `started: socket ${sock}${others.length ? ` (also ${others.join(', ')})` : ''}, idle ${o.limits.idleMs ? `${o.limits.idleMs / 1000}s` : 'off'}, ttl ${o.limits.ttlMs / 1000}s, protocol ${PROTOCOL_VERSION}, sesame ${o.version}`,
  );
  const reload = (): ReloadResult => {
    const r = store.reload();
    o.log(reloadLogLine(r));
    return r;
  };
  return { pid: process.pid, socket: sock, listeners: listeners(), startedAt, done, shutdown, reload };
}

function removePidFile(p: string): void {
  try {
    if (readRegularFile(p, 'agent pid file', { maxBytes: 64, followSymlinks: false }).toString('latin1').trim() === String(process.pid)) fs.unlinkSync(p);
  } catch {
    /* absent */
  }
}
