/**
 * The agent's lifecycle: bind, serve, expire, reload, and clean up on every exit path.
 *
 * `startAgent` takes ownership of the master key and the agent lock. It serves a LIST of
 * listeners (listeners.ts): the owner socket and one socket per valid profile
 * (`sockets/<name>.sock`, peer rule and mode from the profile), and decides against the
 * policy in a PolicyStore (policy/store.ts) built from the token file and the profiles
 * directory (tokensLoader, profilesLoader): a bad token file or profile refuses start, naming
 * file:line. `reload()` (SIGHUP from the entry) swaps the policy atomically — or keeps the
 * old one and logs why — and then opens sockets for added profiles and closes those of
 * removed ones (or whose peer rule, hence mode, changed). A profile's `rate_limit` is a token
 * bucket (policy/rate.ts) on the agent's clock, one per profile and token; a profile's `ttl`
 * closes its socket that long after it opened (agent clock; checked at each tick) and refuses
 * its open connections from their next request, until the agent restarts. A token's last use
 * is kept in memory only and reported to the owner by `status`.
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
import * as path from 'node:path';
import type * as net from 'node:net';
import type { Caller, ListenerRef } from '../policy/caller.js';
import { PolicyStore, reloadLogLine, type ReloadResult } from '../policy/store.js';
import type { Policy, TokenRecord } from '../policy/authorize.js';
import type { Profile } from '../policy/profiles.js';
import { profilesLoader } from '../policy/profiles.js';
import { RateLimiter, type RateDecision, type RateLimit } from '../policy/rate.js';
import { TokenUsage, tokensLoader } from '../policy/tokens.js';
import type { SecureKey } from '../crypto/sodium.js';
import { readRegularFile, writeFileAtomic } from '../fs/secure.js';
import type { HomePaths } from '../paths.js';
import { bootTimeMs, requireHardening } from '../os/native.js';
import { hardeningNow, type HardeningReport } from './doors.js';
import { serveConnection, type FdDelivery } from './conn.js';
import { prepareSocketPath } from './socket.js';
import { dispatch, type DispatchDeps, type RequestContext } from './dispatch.js';
import { OPS_V2, OPS_V2_WRITES, type AnyRequest } from './protocol-v2.js';
import type { AgentWriter } from './ops/write.js';
import { writeVault } from '../vault/writes.js';
import { execEnded, listVisible, readForExec, readOne, readSelected, refuseExec } from '../access.js';
import { killAllNow, liveExecs } from './exec/child.js';
import { pinCommands } from './exec/resolve.js';
import { killProfileExecs } from './ops/exec.js';
import { agentAudit } from '../audit/agent-audit.js';
import { DEFAULT_EVICT_AFTER_MS, VaultKeeper } from './keeper.js';
import type { AgentLock } from './lockfile.js';
import type { AgentLog } from './log.js';
import { PROTOCOLS, PROTOCOL_VERSION } from './protocol.js';
import { Session, type SessionLimits } from './session.js';
import { cellListener, closeListeners, listenerInfo, lostListener, openListeners, ownerListener, profileListener, type ListenerInfo, type ListenerSpec, type OpenListener } from './listeners.js';
import { ApprovalBroker } from '../approval/broker.js';
import { withApprovalHook } from '../approval/door.js';
import { ProofVerifier } from '../approval/proof.js';
import type { ApprovalDeps } from '../approval/ops.js';
import { approvalAudit } from '../approval/audit.js';
import { cellsLoader } from '../cells/policy.js';
import { CellRegistry } from '../cells/registry.js';

export interface AgentOptions {
  paths: HomePaths;
  /** Ownership passes to the agent; wiped on every exit path (and if start fails). */
  master: SecureKey;
  /** Ownership passes to the agent; removed and unlocked on exit (and if start fails). */
  lock: AgentLock;
  limits: SessionLimits;
  version: string;
  log: AgentLog;
  /** Debug-level lines (the fetch → deliver → drop lifecycle of fd deliveries); absent: none. Never a value. */
  debug?: AgentLog;
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
  /** The policy in force (default: the home's token file and profiles directory, tokensLoader and profilesLoader). */
  policy?: PolicyStore;
  /** `agent start --require-token`: the owner socket needs a token too (ignored when `policy` is given). */
  requireToken?: boolean;
  /** Environment for placing profile sockets (XDG_RUNTIME_DIR, paths.ts `placeSocket`); default none. */
  env?: NodeJS.ProcessEnv;
  /** Wall clock, ms since the epoch, for token expiry and last use (default Date.now). */
  now?: () => number;
  /** `agent start --session`: the session token's record (never stored); the owner socket then requires a token. */
  session?: TokenRecord;
  /** `agent start --writes`: the owner socket also serves `write` (ops/write.ts); default read-only. */
  writes?: boolean;
  /** `agent start --cells`: serve `cells.sock` with the scope of `cells.toml` and the registry `cells.json`. */
  cells?: boolean;
  /** Approval settings from config.toml (approve_owner, approval_timeout, approval_max); default: the built-ins. */
  approval?: { approveOwner?: boolean; timeoutMs?: number; maxMs?: number };
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
  const audit = agentAudit(o.paths.home, o.master, o.log, { off: process.env.SESAME_AUDIT === 'off' }); // its subkey, derived once; wiped in release()
  const evictAfterMs = o.limits.evictAfterMs ?? DEFAULT_EVICT_AFTER_MS;
  const clock = o.clock ?? bootTimeMs;
  const keeper = new VaultKeeper(o.master, o.paths, {
    afterMs: evictAfterMs,
    clock,
    onEvict: (project) => {
      audit.lifecycle({ event: 'evict', outcome: 'ok', reason: 'idle', project });
      o.debug?.(`evict: wiped the key of project ${project} (unused for ${evictAfterMs / 1000} s)`);
    },
  });
  const specs = o.listeners ?? [ownerListener(o.paths)];
  const sock = specs.find((l) => l.ref.kind === 'owner')?.socket ?? o.paths.agentSock;
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  let store!: PolicyStore;
  const sockets = new Set<net.Socket>();
  const startedAt = new Date().toISOString();
  const now = o.now ?? Date.now;
  const session = new Session(o.limits, clock);
  const usage = new TokenUsage();
  const rates = new ProfileRates();
  /** Profile name → when its socket closes (agent clock, ms), for profiles with a `ttl`. */
  const deadlines = new Map<string, number>();
  /** Profiles whose `ttl` ran out: their sockets stay closed until the agent restarts. */
  const expired = new Set<string>();
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
    broker.close();
    proofs.dispose();
    keeper.dispose();
    audit.close();
    removePidFile(o.paths.agentPid);
    o.lock.release(true);
  };

  const shutdown = (reason: string): void => {
    if (closed) return;
    killAllNow(); // every exec's process group: SIGTERM, a short grace, SIGKILL
    audit.checkpoint('agent_stop', reason);
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
  // v2 status extras; the op shows the last-use map only to the owner without a scoped token.
  const statusV2 = (): Record<string, unknown> => ({
    require_token: store.current().requireToken,
    session: o.session !== undefined,
    writes: o.writes === true,
    tokens_last_used: Object.fromEntries([...usage.snapshot()].map(([id8, ms]) => [id8, new Date(ms).toISOString()])),
  });
  // --writes: the owner's writes run the CLI's own write path (core/vault/writes.ts) with the
  // agent's key, under the vault lock, and are audited like direct writes.
  const writer: AgentWriter | undefined = o.writes
    ? (w, ctx) => {
        const request = ctx.access.request;
        const client = ctx.access.client === undefined ? {} : { client: ctx.access.client };
        try {
          const r = keeper.with((v) => writeVault(o.paths, v.master, process.env, w));
          audit.wrote({ caller: ctx.access.caller, event: r.event, outcome: 'ok', reason: r.result, project: r.project, keys: r.keys, ...(request === undefined ? {} : { request }), ...client });
          return r;
        } catch (e) {
          const code = e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code.toLowerCase() : 'error';
          audit.wrote({
            caller: ctx.access.caller,
            event: w.op,
            outcome: 'error',
            reason: code,
            project: w.project,
            keys: w.op === 'import' ? w.entries.map(([k]) => k) : 'key' in w ? [w.key] : [],
            ...(request === undefined ? {} : { request }),
            ...client,
          });
          throw e;
        }
      }
    : undefined;
  const proofs = new ProofVerifier(o.master, o.paths.home, clock); // its subkeys, derived once; wiped in release()
  const events = approvalAudit(audit, o.log);
  const broker = new ApprovalBroker({
    src: keeper,
    ...(o.approval?.approveOwner ? { approveOwner: true } : {}),
    ...(o.session ? { ownerTokens: new Set([o.session.id8]) } : {}),
    ...(o.approval?.timeoutMs !== undefined ? { timeoutMs: o.approval.timeoutMs } : {}),
    ...(o.approval?.maxMs !== undefined ? { maxMs: o.approval.maxMs } : {}),
    timeoutFor: (c) => (c.listener.kind === 'profile' && c.listener.name !== undefined ? (store.current().profiles.get(c.listener.name) as Profile | undefined)?.approvalTimeoutMs : undefined),
    clock,
    now,
    log: o.log,
    audit: events.approval,
  });
  const approvals: { -readonly [K in keyof ApprovalDeps]: ApprovalDeps[K] } = { broker, proofs, cellEvent: events.cell };
  // Every read of the door, exec's included, goes through the approval hook, then the audit hook.
  const door = withApprovalHook(audit.door({ readOne, readSelected, listVisible, readForExec, refuseExec, execEnded }), broker.approve);
  const deps: DispatchDeps = { src: keeper, door, status, listeners, statusV2, env: process.env, approvals, ...(writer ? { writer } : {}), ...(o.debug ? { debug: o.debug } : {}) };

  const hooksFor = (listener: ListenerRef) => ({
    uid,
    closing: closing.signal,
    listener,
    /** The snapshot in force; the connection takes it once per request. A profile whose ttl ran out is no longer in it. */
    policy: () => (listener.kind === 'profile' && listener.name !== undefined && expired.has(listener.name) ? withoutProfile(store.current(), listener.name) : store.current()),
    ...(o.connIdleMs !== undefined ? { idleMs: o.connIdleMs } : {}),
    activity: (touches = true) => {
      if (closed) return false;
      if (touches ? session.touch() : session.check() === null) return true;
      shutdown(session.expired ?? 'expired');
      return false;
    },
    handle: (req: AnyRequest, rc: RequestContext) => dispatch(req, rc, deps),
    ops: listener.kind === 'owner' && o.writes ? OPS_V2_WRITES : OPS_V2,
    stopRequested: () => {
      shutdown('stop');
    },
    log: o.log,
    ...(o.debug ? { debug: o.debug } : {}),
    fdDone: (r: FdDelivery) => {
      audit.lifecycle({
        event: 'fd',
        outcome: r.sent ? 'ok' : 'error',
        reason: r.sent ? r.kind : 'not_delivered',
        project: r.project,
        keys: [r.key],
        caller: r.caller,
        ...(r.request === undefined ? {} : { request: r.request }),
        ...(r.client === undefined ? {} : { client: r.client }),
      });
    },
    refused: (r: Parameters<typeof audit.refused>[0]) => {
      audit.refused(r);
    },
    refusedConnection: (c: Caller, reason: string) => {
      audit.refusedConnection(c, reason);
    },
    now,
    rate: (c: Caller) => rates.take(c, store.current(), clock()),
    tokenUsed: (id8: string) => {
      usage.touch(id8, now());
    },
  });
  /** The listeners being served (added before binding, removed before closing). */
  const live = new Set<ListenerSpec>();
  const onConnection = (c: net.Socket, spec: ListenerSpec): void => {
    if (closed || !live.has(spec)) {
      c.destroy();
      return;
    }
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
    serveConnection(c, hooksFor(spec.ref));
  };
  /** The profile listeners `policy` asks for (those `specs` does not already name, and none whose `ttl` ran out). */
  const profileSpecs = (policy: Policy): ListenerSpec[] =>
    [...policy.profiles.values()]
      .filter((p) => !expired.has(p.name) && !specs.some((s) => s.ref.kind === 'profile' && s.ref.name === p.name))
      .map((p) => profileListener(o.paths.home, p.name, p.peer, o.env ?? {}));
  /** A profile socket opened: its `ttl`, if any, starts now (on the agent's clock). */
  const opened = (l: OpenListener): void => {
    const name = l.spec.ref.name;
    const ttl = name === undefined ? undefined : (store.current().profiles.get(name) as Profile | undefined)?.ttlMs;
    if (name !== undefined && ttl !== undefined) deadlines.set(name, clock() + ttl);
  };
  /** Closes the sockets of profiles whose `ttl` ran out; their connections are refused from their next request. */
  const expireProfiles = (): void => {
    const t = clock();
    for (const [name, at] of deadlines) {
      if (at > t) continue;
      deadlines.delete(name);
      expired.add(name);
      const gone = open.filter((l) => l.spec.ref.kind === 'profile' && l.spec.ref.name === name);
      open = open.filter((l) => !gone.includes(l));
      gone.forEach((l) => live.delete(l.spec));
      closeListeners(gone);
      killProfileExecs(name);
      o.log(`closed profile socket: ${name} (its ttl ran out)`);
    }
  };
  const nextProfileDeadline = (): number => Math.min(Infinity, ...[...deadlines.values()].map((at) => Math.max(1, at - clock())));

  // Wakes at the next session deadline, and at least every watchMs to notice an orphaned
  // agent: its socket removed or replaced (e.g. the home deleted) means nobody can reach it.
  const tick = (): void => {
    // A running exec is activity: the agent does not idle out under it (the absolute ttl still ends both).
    const r = liveExecs() > 0 && session.touch() ? null : session.check();
    if (r) {
      shutdown(r);
      return;
    }
    if (lostListener(open.filter((l) => l.spec.ref.kind === 'owner'))) {
      shutdown('socket removed');
      return;
    }
    expireProfiles();
    timer = setTimeout(tick, Math.min(o.watchMs ?? 5000, Math.max(1, liveExecs() > 0 ? 1000 : session.wakeInMs()), nextProfileDeadline()));
  };

  try {
    requireHardening('the agent');
    store =
      o.policy ??
      PolicyStore.open({
        agentUid: uid,
        requireToken: (o.requireToken ?? false) || o.session !== undefined,
        loaders: [tokensLoader(o.paths), profilesLoader(o.paths), ...(o.cells ? [cellsLoader(o.paths.home)] : [])],
        ...(o.session ? { tokens: [o.session] } : {}),
      });
    pinCommands(store.current()); // each profile's `commands` realpath'd now (exec/resolve.ts)
    if (o.cells) approvals.cells = new CellRegistry(o.paths.home, now);
    const cellSpecs = o.cells ? [cellListener(o.paths.home, store.current().cells?.peer ?? 'same-uid', o.env ?? {})] : [];
    const all = [...specs, ...cellSpecs, ...profileSpecs(store.current())];
    all.forEach((x) => live.add(x));
    open = [
      ...(await openListeners(all, (c, spec) => {
        onConnection(c, spec);
      })),
    ];
    open.filter((l) => l.spec.ref.kind === 'profile').forEach(opened);
    await removeStaleSockets(path.join(o.paths.home, 'sockets'), new Set(open.map((l) => l.spec.socket)), o.log);
    writeFileAtomic(o.paths.agentPid, `${process.pid}\n`);
  } catch (e) {
    release();
    o.log(`failed to start: ${e instanceof Error ? e.message : 'error'}`);
    throw e;
  }
  tick();
  audit.checkpoint('agent_start');
  const others = open.filter((l) => l.spec.ref.kind !== 'owner').map((l) => `${l.spec.ref.kind}${l.spec.ref.name === undefined ? '' : `:${l.spec.ref.name}`} ${l.spec.socket}`);
  o.log(
    `started: socket ${sock}${others.length ? ` (also ${others.join(', ')})` : ''}, idle ${o.limits.idleMs ? `${o.limits.idleMs / 1000}s` : 'off'}, ttl ${o.limits.ttlMs / 1000}s, protocols ${PROTOCOLS.join(', ')}, sesame ${o.version}`,
  );
  /**
   * Brings the profile sockets in line with the policy in force: closes those of removed
   * profiles (or whose socket or mode changed), opens those of added ones. Logged; never throws.
   */
  const syncProfiles = async (): Promise<void> => {
    const want = profileSpecs(store.current());
    const same = (a: ListenerSpec, b: ListenerSpec): boolean => a.ref.name === b.ref.name && a.socket === b.socket && a.mode === b.mode && JSON.stringify(a.peer) === JSON.stringify(b.peer);
    const dynamic = open.filter((l) => l.spec.ref.kind === 'profile' && !specs.includes(l.spec));
    const gone = dynamic.filter((l) => !want.some((w) => same(w, l.spec)));
    const added = want.filter((w) => !dynamic.some((l) => same(w, l.spec)));
    if (gone.length) {
      open = open.filter((l) => !gone.includes(l));
      gone.forEach((l) => {
        live.delete(l.spec);
        if (l.spec.ref.name !== undefined) deadlines.delete(l.spec.ref.name);
      });
      closeListeners(gone);
      for (const l of gone) if (l.spec.ref.name !== undefined && !store.current().profiles.has(l.spec.ref.name)) killProfileExecs(l.spec.ref.name);
      o.log(`closed profile socket${gone.length > 1 ? 's' : ''}: ${gone.map((l) => l.spec.ref.name ?? '?').join(', ')}`);
    }
    for (const spec of added) {
      live.add(spec);
      try {
        const [l] = await openListeners([spec], (c, s) => {
          onConnection(c, s);
        });
        if (!l) continue;
        if (closed) closeListeners([l]);
        else {
          open = [...open, l];
          opened(l);
          o.log(`opened profile socket: ${spec.ref.name ?? '?'} ${spec.socket}`);
        }
      } catch (e) {
        live.delete(spec);
        o.log(`could not open the socket of profile ${spec.ref.name ?? '?'}: ${e instanceof Error ? e.message : 'error'}`);
      }
    }
  };
  let syncing: Promise<void> = Promise.resolve();
  const reload = (): ReloadResult => {
    const r = store.reload();
    o.log(reloadLogLine(r));
    audit.event({ event: 'policy_reload', outcome: r.ok ? 'ok' : 'error', reason: r.ok ? 'sighup' : 'failed' });
    if (r.ok && !closed) {
      pinCommands(store.current());
      rates.prune(store.current());
      // Serialised: two quick SIGHUPs never race on one socket path.
      syncing = syncing.then(syncProfiles, syncProfiles);
    }
    return r;
  };
  return { pid: process.pid, socket: sock, listeners: listeners(), startedAt, done, shutdown, reload };
}

/**
 * The profiles' rate limits: one RateLimiter per profile with a `rate_limit`, keyed by the
 * caller's token id (or `-` without one), so each token on a profile socket has its own
 * budget. A profile whose limit changed on reload starts afresh; a removed one is dropped.
 */
class ProfileRates {
  readonly #by = new Map<string, { limit: RateLimit; limiter: RateLimiter }>();

  take(c: Caller, policy: Policy, nowMs: number): RateDecision {
    if (c.listener.kind !== 'profile' || c.listener.name === undefined) return { ok: true };
    const p = policy.profiles.get(c.listener.name) as Profile | undefined;
    const limit = p?.rateLimit;
    if (!limit) return { ok: true };
    let e = this.#by.get(c.listener.name);
    if (e?.limit.count !== limit.count || e.limit.perMs !== limit.perMs) {
      e = { limit, limiter: new RateLimiter(limit) };
      this.#by.set(c.listener.name, e);
    }
    return e.limiter.take(c.token ? `token:${c.token.id8}` : '-', nowMs);
  }

  /** Drops the buckets of profiles no longer in `policy`. */
  prune(policy: Policy): void {
    for (const name of [...this.#by.keys()]) if (!policy.profiles.has(name)) this.#by.delete(name);
  }
}

/**
 * Removes dead sockets left in `dir` (`sockets/` in the home) by an agent that did not stop
 * cleanly, for profiles no longer defined: each `*.sock` not in `keep` goes through
 * socket.ts `prepareSocketPath` (a dead socket of ours is removed; anything else — a live
 * socket, another owner, not a socket — is left alone). Never throws.
 */
async function removeStaleSockets(dir: string, keep: ReadonlySet<string>, log: AgentLog): Promise<void> {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.sock'));
  } catch {
    return;
  }
  for (const n of names) {
    const p = path.join(dir, n);
    if (keep.has(p)) continue;
    try {
      if (!fs.lstatSync(p).isSocket()) continue;
      await prepareSocketPath(p);
      if (!fs.existsSync(p)) log(`removed a stale profile socket: ${p}`);
    } catch {
      /* live, not ours, or gone: left alone */
    }
  }
}

/** `policy` without profile `name` (its connections are then refused: no policy in force for the socket). */
function withoutProfile(policy: Policy, name: string): Policy {
  return Object.freeze({ ...policy, profiles: new Map([...policy.profiles].filter(([n]) => n !== name)) });
}

function removePidFile(p: string): void {
  try {
    if (readRegularFile(p, 'agent pid file', { maxBytes: 64, followSymlinks: false }).toString('latin1').trim() === String(process.pid)) fs.unlinkSync(p);
  } catch {
    /* absent */
  }
}
