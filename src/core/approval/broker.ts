/**
 * Approvals (issue 11): the agent's implementation of the plaintext door's approval hook
 * (src/core/access.ts `AccessHooks.approve`), and the owner's side of it.
 *
 * A read that would decrypt a HIGH-VALUE key for a DELEGATED caller (a token, a profile
 * socket, a cell; MCP arrives as one of these) waits until the owner decides:
 *  - the door calls `approve(caller, what, wait)`; the broker looks up which of `what.keys`
 *    are high-value (names and metadata only, `VaultSource`), and returns at once when none
 *    is, when the caller is the owner on the owner socket without a token (unless
 *    `approve_owner`), or when a live grant covers it;
 *  - otherwise it registers a pending request (8-hex id), tells the connection (`wait.notify`:
 *    the `pending` frame with `approval_id` and `expires_in_s`) and waits for `decide`,
 *    the timeout (the profile's `approval_timeout`, else the configured default, 60 s), or the
 *    request's cancellation. Expiry and denial throw DENIED (`approval_timeout`,
 *    `approval_denied`); the door audits the refusal.
 *  - fatigue and flooding: one pending request per (caller, project, key set) — a second is
 *    DENIED `approval_pending`, not queued — and at most RATE new requests a minute per
 *    caller (`approval_rate`).
 *
 * Grants: `once` releases exactly the waiting request (that pid and start time) and leaves
 * nothing behind; `for` (capped at `approval_max`, default 8 h, whatever the approver asks)
 * and `session` (until the agent stops) leave a grant bound to the caller's identity — its
 * listener and profile, token id, cell id AND executable — the op, the project and the
 * high-value key set (a later read is covered when its high-value keys are a subset); a grant
 * for an `exec` is also bound to the program the agent resolved (its real path): it covers a
 * later exec of the same program with those keys, not another program.
 *
 * What the owner is shown of an exec: the resolved program (`command`) and the argv's hash
 * (`argv_hash`, the same hash as in the exec's audit record) — never argv itself, which is
 * the caller's own text and may hold secrets of its own (a header, a password on a command
 * line). argv never reaches the door's hooks (src/core/access.ts).
 *
 * This module does not check who decides: ops.ts admits the decision only on the owner
 * socket without a token, with a proof (proof.ts) the agent verified. Names only: no value,
 * token or PIN ever reaches this module.
 */
import { randomBytes } from 'node:crypto';
import { SesameError } from '../errors.js';
import type { AccessWhat, ApprovalWait, VaultSource } from '../access.js';
import type { Caller } from '../policy/caller.js';
import { RateLimiter } from '../policy/rate.js';
import { parentChain, type ChainLink } from './procchain.js';

/** The default wait for the owner's decision (ms). */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 60_000;
/** The default cap on a `for` grant (ms): 8 h. */
export const DEFAULT_APPROVAL_MAX_MS = 8 * 3_600_000;
/** New approval requests one caller may raise per minute. */
export const APPROVAL_RATE = 5;

/** How a request is approved. */
export type ApprovalMode = 'once' | 'for' | 'session';

/** An approval event for the audit log and the agent log: names, ids and reasons only. */
export interface ApprovalEvent {
  readonly event: 'approval_request' | 'approval_grant' | 'approval_deny' | 'approval_expire' | 'approval_withdrawn' | 'grant_revoke';
  readonly outcome: 'ok' | 'denied';
  readonly reason?: string;
  readonly caller: Caller;
  readonly op: string;
  readonly project: string | undefined;
  readonly keys: readonly string[];
  /** The approval or grant id. */
  readonly id: string;
}

export interface BrokerOptions {
  /** The vault's names and metadata (which keys are high-value). */
  readonly src: VaultSource;
  /** Ids (id8) of tokens that are the owner's own (the `--session` token): not a delegation. */
  readonly ownerTokens?: ReadonlySet<string>;
  /** `approve_owner` in config.toml: the owner's own reads wait too. */
  readonly approveOwner?: boolean;
  /** The default wait (ms). */
  readonly timeoutMs?: number;
  /** The wait for one caller, e.g. its profile's `approval_timeout` (ms); undefined: the default. */
  timeoutFor?(caller: Caller): number | undefined;
  /** The cap on `for` grants (ms). */
  readonly maxMs?: number;
  /** A monotonic clock in ms that counts suspended time (the agent's). */
  clock(): number;
  /** Wall clock, ms since the epoch (for the times shown). */
  now?(): number;
  log(msg: string): void;
  /** Told of every approval event; a throw is ignored (the decision stands). */
  audit?(e: ApprovalEvent): void;
}

/** A pending request as the owner sees it (`approvals` op). Never secret. */
export interface PendingView {
  readonly id: string;
  readonly since: string;
  readonly expires_in_s: number;
  readonly op: string;
  readonly project: string | null;
  readonly keys: readonly string[];
  /** exec: the absolute real path of the program that would run; null for other ops. */
  readonly command: string | null;
  /** exec: the argv's hash (audit/record.ts `argvHash`, as in the exec's audit record); null for other ops. */
  readonly argv_hash: string | null;
  readonly caller: CallerView;
}

/** A caller as the owner sees it: pid, start time, executable, parent chain, listener, token id, cell. */
export interface CallerView {
  readonly pid: number | null;
  readonly start_time: number | null;
  readonly exe: string | null;
  readonly chain: readonly ChainLink[];
  readonly listener: { kind: string; name?: string };
  readonly token: string | null;
  readonly cell: string | null;
}

/** A live grant as the owner sees it (`approvals` op). */
export interface GrantView {
  readonly id: string;
  readonly mode: 'for' | 'session';
  readonly op: string;
  readonly project: string | null;
  readonly keys: readonly string[];
  /** exec: the program the grant covers (its real path); null for other ops. */
  readonly command: string | null;
  readonly listener: { kind: string; name?: string };
  readonly token: string | null;
  readonly cell: string | null;
  readonly exe: string | null;
  readonly created_at: string;
  /** null: until the agent stops. */
  readonly expires_at: string | null;
}

/** What `decide` did. */
export interface DecideResult {
  readonly grant: string | null;
  readonly expires_at: string | null;
  /** The `for` duration asked for exceeded `approval_max` and was cut to it. */
  readonly capped: boolean;
}

interface Pending {
  readonly id: string;
  readonly caller: Caller;
  readonly what: AccessWhat;
  readonly hv: readonly string[];
  readonly slot: string;
  readonly sinceMs: number;
  readonly expiresAt: number;
  readonly chain: readonly ChainLink[];
  readonly timer: NodeJS.Timeout;
  readonly resolve: () => void;
  readonly reject: (e: SesameError) => void;
}

interface Grant {
  readonly id: string;
  readonly mode: 'for' | 'session';
  readonly identity: string;
  readonly caller: Caller;
  readonly op: string;
  readonly project: string | undefined;
  readonly keys: ReadonlySet<string>;
  /** exec: the program's real path (a grant for one program does not cover another). */
  readonly command: string | undefined;
  readonly createdMs: number;
  /** Agent clock; undefined: until the agent stops. */
  readonly expiresAt: number | undefined;
}

/**
 * True for a delegated caller: a token, a cell, or any listener but the owner socket. The
 * owner's own `agent start --session` token (its id8 in `ownerTokens`) on the owner socket is
 * the owner, not a delegation.
 */
export function isDelegatedCaller(c: Caller, ownerTokens: ReadonlySet<string> = new Set()): boolean {
  if (c.cell !== undefined || c.listener.kind !== 'owner') return true;
  return c.token !== undefined && !ownerTokens.has(c.token.id8);
}

/** The identity a grant is bound to: listener (and profile), token id, cell id, executable. */
export function identityOf(c: Caller): string {
  return JSON.stringify([c.listener.kind, c.listener.name ?? null, c.token?.id8 ?? null, c.cell?.id ?? null, c.exe]);
}

/** Who a caller is for the rate limit and the one-pending rule: as `identityOf`, without the executable. */
function principalOf(c: Caller): string {
  return JSON.stringify([c.listener.kind, c.listener.name ?? null, c.token?.id8 ?? null, c.cell?.id ?? null]);
}

const denied = (reason: string, message: string, hint: string): SesameError => new SesameError('DENIED', message, { hint, detail: { reason } });

/** See the module comment. */
export class ApprovalBroker {
  readonly #o: BrokerOptions;
  readonly #pending = new Map<string, Pending>();
  readonly #grants = new Map<string, Grant>();
  readonly #rate = new RateLimiter({ count: APPROVAL_RATE, perMs: 60_000 });
  #closed = false;

  constructor(o: BrokerOptions) {
    this.#o = o;
  }

  /** The door's approval hook (bound): see the module comment. */
  readonly approve = (caller: Caller, what: AccessWhat, wait: ApprovalWait = {}): Promise<void> => {
    if (this.#closed) return Promise.reject(new SesameError('UNAVAILABLE', 'the agent is shutting down', { detail: { reason: 'shutdown' } }));
    if (!isDelegatedCaller(caller, this.#o.ownerTokens) && !this.#o.approveOwner) return Promise.resolve();
    const hv = this.#highValue(what);
    if (!hv.length) return Promise.resolve();
    const now = this.#o.clock();
    this.#expireGrants(now);
    if (this.#covered(caller, what, hv)) return Promise.resolve();
    const slot = JSON.stringify([principalOf(caller), what.project ?? null, [...hv].sort()]);
    for (const p of this.#pending.values()) {
      if (p.slot === slot) {
        this.#event({ event: 'approval_request', outcome: 'denied', reason: 'approval_pending', caller, op: what.op, project: what.project, keys: hv, id: p.id });
        return Promise.reject(
          denied(
            'approval_pending',
            `refused: request ${p.id} for the same keys is already waiting for the owner's approval`,
            'wait for the owner to decide on that request; a second one is not queued',
          ),
        );
      }
    }
    const r = this.#rate.take(principalOf(caller), now);
    if (!r.ok) {
      this.#event({ event: 'approval_request', outcome: 'denied', reason: 'approval_rate', caller, op: what.op, project: what.project, keys: hv, id: '-' });
      return Promise.reject(
        denied('approval_rate', `refused: too many approval requests from this caller; try again in ${r.retryAfterS} s`, 'ask less often; the owner is not prompted more than a few times a minute'),
      );
    }
    if (wait.signal?.aborted) return Promise.reject(cancelledError());
    const ms = this.#timeoutFor(caller);
    const id = this.#newId();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.#pending.delete(id)) return;
        this.#event({ event: 'approval_expire', outcome: 'denied', reason: 'approval_timeout', caller, op: what.op, project: what.project, keys: hv, id });
        reject(
          denied(
            'approval_timeout',
            `refused: the owner did not approve request ${id} within ${Math.round(ms / 1000)} s`,
            'ask the owner to approve it (the approve command lists waiting requests; docs/approvals.md) and try again',
          ),
        );
      }, ms);
      const onAbort = (): void => {
        if (!this.#pending.delete(id)) return;
        clearTimeout(timer);
        this.#event({ event: 'approval_withdrawn', outcome: 'denied', reason: 'cancelled', caller, op: what.op, project: what.project, keys: hv, id });
        reject(cancelledError());
      };
      const p: Pending = {
        id,
        caller,
        what,
        hv,
        slot,
        sinceMs: this.#wall(),
        expiresAt: now + ms,
        chain: parentChain(caller.pid),
        timer,
        resolve: () => {
          wait.signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (e) => {
          wait.signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      this.#pending.set(id, p);
      wait.signal?.addEventListener('abort', onAbort, { once: true });
      this.#event({ event: 'approval_request', outcome: 'ok', caller, op: what.op, project: what.project, keys: hv, id });
      wait.notify?.({ approval_id: id, expires_in_s: Math.ceil(ms / 1000) });
    });
  };

  /** The pending requests, oldest first. Never secret. */
  pending(): PendingView[] {
    const now = this.#o.clock();
    return [...this.#pending.values()].map((p) => ({
      id: p.id,
      since: new Date(p.sinceMs).toISOString(),
      expires_in_s: Math.max(0, Math.ceil((p.expiresAt - now) / 1000)),
      op: p.what.op,
      project: p.what.project ?? null,
      keys: [...p.hv],
      command: p.what.op === 'exec' ? (p.what.command ?? null) : null,
      argv_hash: p.what.op === 'exec' ? (p.what.argvHash ?? null) : null,
      caller: { ...callerView(p.caller), chain: p.chain },
    }));
  }

  /** The live grants, oldest first. Never secret. */
  grants(): GrantView[] {
    const now = this.#o.clock();
    this.#expireGrants(now);
    return [...this.#grants.values()].map((g) => {
      const v = callerView(g.caller);
      return {
        id: g.id,
        mode: g.mode,
        op: g.op,
        project: g.project ?? null,
        keys: [...g.keys],
        command: g.command ?? null,
        listener: v.listener,
        token: v.token,
        cell: v.cell,
        exe: v.exe,
        created_at: new Date(g.createdMs).toISOString(),
        expires_at: g.expiresAt === undefined ? null : new Date(this.#wall() + (g.expiresAt - now)).toISOString(),
      };
    });
  }

  /**
   * The owner's decision on pending request `id` (the caller of this method has verified the
   * proof): `deny`, or approve `once`, `for` `forMs` (cut to `approval_max`), or `session`.
   * NOT_FOUND when no such request is waiting (decided, expired, withdrawn, or never was).
   */
  decide(id: string, d: { deny: true } | { deny?: false; mode: ApprovalMode; forMs?: number }): DecideResult {
    const p = this.#pending.get(id);
    if (!p) throw new SesameError('NOT_FOUND', `no approval request ${id} is waiting`, { hint: 'list the waiting requests (the approve command); it may have expired or been withdrawn' });
    if (!d.deny && d.mode === 'for' && !((d.forMs ?? 0) > 0)) throw new SesameError('USAGE', 'a `for` approval needs a duration above zero');
    this.#pending.delete(id);
    clearTimeout(p.timer);
    if (d.deny) {
      this.#event({ event: 'approval_deny', outcome: 'denied', reason: 'approval_denied', caller: p.caller, op: p.what.op, project: p.what.project, keys: p.hv, id });
      p.reject(denied('approval_denied', `refused: the owner denied request ${id}`, 'ask the owner'));
      return { grant: null, expires_at: null, capped: false };
    }
    let result: DecideResult = { grant: null, expires_at: null, capped: false };
    if (d.mode !== 'once') {
      const now = this.#o.clock();
      const max = this.#o.maxMs ?? DEFAULT_APPROVAL_MAX_MS;
      const asked = d.mode === 'for' ? (d.forMs ?? 0) : undefined;
      const ms = asked === undefined ? undefined : Math.min(asked, max);
      const g: Grant = {
        id: this.#newId(),
        mode: d.mode,
        identity: identityOf(p.caller),
        caller: p.caller,
        op: p.what.op,
        project: p.what.project,
        keys: new Set(p.hv),
        command: p.what.op === 'exec' ? p.what.command : undefined,
        createdMs: this.#wall(),
        expiresAt: ms === undefined ? undefined : now + ms,
      };
      this.#grants.set(g.id, g);
      result = { grant: g.id, expires_at: ms === undefined ? null : new Date(this.#wall() + ms).toISOString(), capped: asked !== undefined && asked > max };
    }
    this.#event({ event: 'approval_grant', outcome: 'ok', reason: d.mode, caller: p.caller, op: p.what.op, project: p.what.project, keys: p.hv, id: result.grant ?? id });
    p.resolve();
    return result;
  }

  /** Revokes grant `id`; NOT_FOUND when there is none. */
  revoke(id: string): void {
    const g = this.#grants.get(id);
    if (!g) throw new SesameError('NOT_FOUND', `no grant ${id}`, { hint: 'list the live grants (approve --list-grants)' });
    this.#grants.delete(id);
    this.#event({ event: 'grant_revoke', outcome: 'ok', caller: g.caller, op: g.op, project: g.project, keys: [...g.keys], id });
  }

  /** At shutdown: every waiting request ends (UNAVAILABLE), every grant is dropped. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new SesameError('UNAVAILABLE', 'the agent is shutting down', { detail: { reason: 'shutdown' }, remedy: 'agent_start' }));
    }
    this.#pending.clear();
    this.#grants.clear();
  }

  #highValue(what: AccessWhat): string[] {
    if (what.project === undefined || !what.keys.length) return [];
    const project = what.project;
    const want = new Set(what.keys);
    try {
      return this.#o.src.with((v) => (v.hasProject(project) ? v.list(project).filter((e) => e.high_value && want.has(e.key)) : []).map((e) => e.key));
    } catch (e) {
      // The vault cannot be read now: the decrypt would fail the same way; never skip an approval for it.
      if (e instanceof SesameError) throw e;
      throw new SesameError('ERROR', 'cannot tell which keys need approval', { hint: 'see agent.log' });
    }
  }

  #covered(caller: Caller, what: AccessWhat, hv: readonly string[]): boolean {
    const identity = identityOf(caller);
    for (const g of this.#grants.values()) {
      if (g.identity !== identity || g.op !== what.op || g.project !== what.project || !hv.every((k) => g.keys.has(k))) continue;
      // An exec grant covers the program it was shown for; an exec whose program is unknown is never covered.
      if (g.op === 'exec' && (g.command === undefined || g.command !== what.command)) continue;
      return true;
    }
    return false;
  }

  #expireGrants(now: number): void {
    for (const [id, g] of this.#grants) if (g.expiresAt !== undefined && g.expiresAt <= now) this.#grants.delete(id);
  }

  #timeoutFor(caller: Caller): number {
    return this.#o.timeoutFor?.(caller) ?? this.#o.timeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
  }

  #wall(): number {
    return (this.#o.now ?? Date.now)();
  }

  #newId(): string {
    for (;;) {
      const id = randomBytes(4).toString('hex');
      if (!this.#pending.has(id) && !this.#grants.has(id)) return id;
    }
  }

  #event(e: ApprovalEvent): void {
    const c = e.caller;
    const who = `${c.listener.kind}${c.listener.name === undefined ? '' : `:${c.listener.name}`}${c.token ? ` token ${c.token.id8}` : ''}${c.cell ? ` cell ${c.cell.id}` : ''} pid ${c.pid ?? '?'}`;
    this.#o.log(`${e.event.replace('_', ' ')} ${e.id}: ${e.outcome}${e.reason ? ` (${e.reason})` : ''} — ${who}, ${e.op} ${e.project ?? '-'} [${e.keys.join(' ')}]`);
    try {
      this.#o.audit?.(e);
    } catch {
      /* the decision stands */
    }
  }
}

function callerView(c: Caller): Omit<CallerView, 'chain'> {
  const l = c.listener;
  return {
    pid: c.pid,
    start_time: c.startTime,
    exe: c.exe,
    listener: l.name === undefined ? { kind: l.kind } : { kind: l.kind, name: l.name },
    token: c.token?.id8 ?? null,
    cell: c.cell?.id ?? null,
  };
}

function cancelledError(): SesameError {
  return new SesameError('UNAVAILABLE', 'the request was cancelled while it waited for approval', { hint: 'send it again' });
}
