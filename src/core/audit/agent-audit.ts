/**
 * The agent's side of the audit log: the access hook its ops' door runs for every read, and
 * the keyed checkpoint records it writes when it starts and when it stops.
 *
 * The audit subkey is derived ONCE, at start, from the agent's master key and kept in
 * guarded memory (AuditKey → SecureKey) until `close()` wipes it at shutdown. The agent never
 * writes the vault; it only appends to the audit log, keeping its descriptors open between
 * appends (log.ts `keepOpen`: the flock is still taken per append, so CLI writers interleave).
 *
 * Durability and failing closed differ by who reads:
 *  - a delegated read (token, profile, cell, MCP) is appended synchronously, before anything is
 *    decrypted (log.ts `appendOrDeny`): if it cannot be written the read is refused
 *    (`audit_unavailable`). Once the value leaves, its record is in the page cache (not fsync'd).
 *  - an owner's read is queued and written by a group commit at most GROUP_COMMIT_MS later
 *    (one lock, one write(2) for every owner read queued meanwhile, `AuditLog.appendMany`),
 *    and always before any later delegated record, checkpoint or shutdown. The reply may
 *    reach the client up to that long before its record is written: a kill -9 (or a power
 *    cut, nothing is fsync'd) in that window loses those owner reads. A failed write goes to the agent log
 *    (at most one note a minute, with the count of unrecorded reads since the last note).
 *  - checkpoints are fdatasync'd.
 *
 * `SESAME_AUDIT=off` exists for the paired benchmark only (docs/benchmarks.md): owner reads
 * are then not recorded, delegated reads are refused (`audit_unavailable`) — never served
 * unrecorded — and the start checkpoint says `audit_off`, so the log shows the gap.
 */
import type { AccessEvent, ClientLabel } from '../access.js';
import { SesameError } from '../errors.js';
import { openKeyWindow, type SecureKey } from '../crypto/sodium.js';
import { accessRecord, callerFields, isDelegated, keyNamesOf, requestFields, withAuditHook, type ReadDoor } from './access-hook.js';
import type { Caller } from '../policy/caller.js';
import { isValidKeyName } from '../names.js';
import { AuditKey, AuditLog, appendOrDeny, type Queued } from './log.js';
import { READ_EVENT_NAMES } from './events.js';
import { checkInput, reasonCode, type AuditInput } from './record.js';

/** What the agent holds for the audit: its read hook, its door wrapper, its checkpoints. */
export interface AgentAudit {
  /** The read door with the audit hook in every request's context. */
  door(d: ReadDoor): ReadDoor;
  /** A keyed `agent_start` / `agent_stop` record (reason: stop, idle, ttl, signal:NAME, crash, …). Never throws. */
  checkpoint(event: 'agent_start' | 'agent_stop', reason?: string): void;
  /**
   * Records a request the connection refused before any op ran (conn.ts `hooks.refused`: a
   * bad or unknown token, an op out of scope, the peer, the rate limit): `denied` with the
   * reason and the names asked for. Group-committed like an owner read (nothing was
   * released); never throws.
   */
  refused(r: { caller: Caller; op: string; project?: string; keys: readonly string[]; reason: string; request?: string; client?: ClientLabel }): void;
  /**
   * Records a write the agent made for the owner (`agent start --writes`): event (set, rm,
   * mv…), outcome, what happened as the reason, the names. Written at once (after any queued
   * reads); a failure is noted, never thrown (the write is already made, as a direct write's).
   */
  wrote(r: { caller: Caller; event: string; outcome: 'ok' | 'error'; reason: string; project: string; keys: readonly string[]; request?: string; client?: ClientLabel }): void;
  /** Records a connection refused on accept (conn.ts `hooks.refusedConnection`): event `connect`, denied, with the reason (`peer`, `listener`). Never throws. */
  refusedConnection(caller: Caller, reason: string): void;
  /** A keyed, fdatasync'd record of the agent's own (e.g. `policy_reload`), after every queued read. A failure goes to the agent log; never throws. */
  event(input: Omit<AuditInput, 'via' | 'peer'>): void;
  /**
   * Records an agent event that released nothing by itself (approvals, cell registration and
   * revocation): group-committed like an owner read; a record that cannot be written is
   * noted in the agent log, never thrown.
   */
  record(rec: AuditInput): void;
  /**
   * A step of a served secret's lifecycle after the door's read record (group-committed like
   * an owner read; never throws): `fd` — a value delivered as a descriptor (reason the kind,
   * `secret`/`sealed`; outcome `error` with reason `not_delivered` when it was closed unsent);
   * `evict` — a project's key wiped after `--evict-after` without use (via `agent`, reason `idle`).
   */
  lifecycle(r: { event: 'fd' | 'evict'; outcome: 'ok' | 'error'; reason: string; project: string; keys?: readonly string[]; caller?: Caller; request?: string; client?: ClientLabel }): void;
  /** Wipes the audit subkey and closes the log (idempotent). Later appends are unkeyed. */
  close(): void;
}

export interface AgentAuditOptions {
  /** The benchmark switch (`SESAME_AUDIT=off`): see the module comment. */
  off?: boolean;
  /** Rotation size (bytes), as the CLI's `SESAME_AUDIT_MAX_BYTES`. */
  maxBytes?: number;
  now?: () => Date;
}

/** A stop reason as a record's reason code: `signal:sigterm`, `crash`, `socket_removed`, `stop`, `idle`, `ttl`. */
export function stopReason(reason: string): string {
  const r = reason.toLowerCase();
  if (r.startsWith('crash')) return 'crash';
  if (/^sig[a-z0-9]+$/.test(r)) return `signal:${r}`;
  const code = r.replace(/[^a-z0-9_.:-]+/g, '_').replace(/^[^a-z0-9]+/, '');
  return code.slice(0, 64) || 'unknown';
}

/** Owner reads queued beyond this many are written at once, without waiting for the timer. */
const MAX_BATCH = 256;
/** How long an owner read's record may wait for its group commit (ms): what a kill -9 can lose. */
export const GROUP_COMMIT_MS = 2;

/** The agent's audit, keyed with the audit subkey of `master` (which the caller still owns). Never throws. */
export function agentAudit(home: string, master: SecureKey, note: (msg: string) => void, opts: AgentAuditOptions = {}): AgentAudit {
  const key = AuditKey.fromMaster(master);
  const log = new AuditLog(home, key, { keepOpen: true, ...(opts.maxBytes ? { maxBytes: opts.maxBytes } : {}), ...(opts.now ? { now: opts.now } : {}) });
  const peer = { uid: typeof process.getuid === 'function' ? process.getuid() : 0, pid: process.pid, exe: process.execPath };
  let unrecorded = 0;
  let lastNote = -Infinity;
  const warn = (msg: string, n = 1): void => {
    unrecorded += n;
    const now = Date.now();
    if (now - lastNote < 60_000) return;
    note(`AUDIT: ${msg}${unrecorded > 1 ? ` (${unrecorded} owner reads unrecorded since the last note)` : ''}`);
    lastNote = now;
    unrecorded = 0;
  };
  const now = opts.now ?? (() => new Date());
  let pending: Queued[] = [];
  let scheduled: NodeJS.Timeout | undefined;
  /** Writes the queued owner reads (one write); a failure is noted, never thrown (owner reads are not refused). */
  const flush = (): void => {
    if (scheduled) clearTimeout(scheduled);
    scheduled = undefined;
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    try {
      openKeyWindow(); // the batch's MACs share two mprotect calls; closed by itself at the end of this turn
      log.appendMany(batch);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      warn(batch.length === 1 ? `this ${batch[0]!.input.event} was NOT recorded in the audit log: ${why}` : `${batch.length} reads were NOT recorded in the audit log: ${why}`, batch.length);
    }
  };
  /** Queues a record for the group commit; one that could not be written is noted, never thrown. */
  const queue = (rec: AuditInput): void => {
    if (opts.off) return;
    try {
      checkInput(rec); // a record that could not be written must not spoil its batch
    } catch (err) {
      warn(`this ${rec.event} was NOT recorded in the audit log: ${err instanceof Error ? err.message : 'error'}`);
      return;
    }
    pending.push({ input: rec, time: now() });
    if (pending.length >= MAX_BATCH) flush();
    else scheduled ??= setTimeout(flush, GROUP_COMMIT_MS);
  };
  const hook = (e: AccessEvent): void => {
    const rec = accessRecord(e);
    if (isDelegated(rec.via)) {
      if (opts.off)
        throw new SesameError('DENIED', 'refused: the audit log is switched off (a benchmark setting), and a delegated read is never served unrecorded', {
          hint: 'restart the agent without SESAME_AUDIT=off',
          detail: { reason: 'audit_unavailable' },
        });
      flush(); // order: every earlier read first
      appendOrDeny(log, rec, { delegated: true, warn }); // synchronous; throws audit_unavailable when it cannot be written
      return;
    }
    queue(rec);
  };
  let closed = false;
  return {
    door: (d) => withAuditHook(d, hook),
    refused(r) {
      try {
        queue({
          event: READ_EVENT_NAMES.has(r.op) ? r.op : 'request', // a client's op never names an event of its own choosing
          outcome: 'denied',
          reason: reasonCode(r.reason, 'denied'),
          ...callerFields(r.caller),
          ...requestFields(r),
          keys: keyNamesOf(r.keys),
        });
      } catch {
        /* never fails the refusal */
      }
    },
    wrote(r) {
      if (opts.off) return;
      flush();
      try {
        log.append({
          event: r.event,
          outcome: r.outcome,
          reason: reasonCode(r.reason, 'error'),
          ...callerFields(r.caller),
          ...requestFields(r),
          keys: keyNamesOf(r.keys),
        });
      } catch (e) {
        warn(`this ${r.event} was NOT recorded in the audit log: ${e instanceof Error ? e.message : 'error'}`);
      }
    },
    refusedConnection(caller, reason) {
      queue({ event: 'connect', outcome: 'denied', reason: reasonCode(reason, 'denied'), ...callerFields(caller) });
    },
    event(input) {
      flush();
      try {
        log.append({ ...input, via: 'agent', peer });
      } catch (e) {
        note(`AUDIT: the ${input.event} record was NOT written to the audit log: ${e instanceof Error ? e.message : 'error'}`);
      }
    },
    record(rec) {
      queue(rec);
    },
    lifecycle(r) {
      try {
        queue({
          event: r.event,
          outcome: r.outcome,
          reason: r.reason,
          ...(r.caller ? callerFields(r.caller) : { via: 'agent', peer }),
          ...requestFields(r),
          ...(r.keys ? { keys: r.keys.filter(isValidKeyName) } : {}),
        });
      } catch {
        /* never fails the delivery */
      }
    },
    checkpoint(event, reason) {
      flush();
      const why = event === 'agent_start' ? (opts.off ? 'audit_off' : undefined) : stopReason(reason ?? 'stop');
      try {
        log.append({ event, outcome: 'ok', via: 'agent', peer, ...(why === undefined ? {} : { reason: why }) });
      } catch (e) {
        note(`AUDIT: the ${event} checkpoint was NOT recorded in the audit log: ${e instanceof Error ? e.message : 'error'}`);
      }
    },
    close() {
      if (closed) return;
      closed = true;
      flush();
      log.setKey(undefined);
      log.close();
      key.dispose();
    },
  };
}
