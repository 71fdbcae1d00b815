/**
 * The agent's side of the audit log: the access hook its ops' door runs for every read, and
 * the keyed checkpoint records it writes when it starts and when it stops.
 *
 * The audit subkey is derived ONCE, at start, from the agent's master key and kept in
 * guarded memory (AuditKey → SecureKey) until `close()` wipes it at shutdown. The agent never
 * writes the vault; it only appends to the audit log, keeping its descriptors open between
 * appends (log.ts `keepOpen`: the flock is still taken per append, so CLI writers interleave).
 *
 * Failing closed (log.ts `appendOrDeny`): a delegated read whose record cannot be written is
 * refused (`audit_unavailable`); an owner's read goes ahead with a note in the agent log (at
 * most one a minute, with the count of unrecorded reads since the last note).
 *
 * `SESAME_AUDIT=off` exists for the paired benchmark only (docs/benchmarks.md): owner reads
 * are then not recorded, delegated reads are refused (`audit_unavailable`) — never served
 * unrecorded — and the start checkpoint says `audit_off`, so the log shows the gap.
 */
import type { AccessEvent } from '../access.js';
import { SesameError } from '../errors.js';
import type { SecureKey } from '../crypto/sodium.js';
import { accessRecord, auditHook, isDelegated, withAuditHook, type ReadDoor } from './access-hook.js';
import { AuditKey, AuditLog } from './log.js';

/** What the agent holds for the audit: its read hook, its door wrapper, its checkpoints. */
export interface AgentAudit {
  /** The read door with the audit hook in every request's context. */
  door(d: ReadDoor): ReadDoor;
  /** A keyed `agent_start` / `agent_stop` record (reason: stop, idle, ttl, signal:NAME, crash, …). Never throws. */
  checkpoint(event: 'agent_start' | 'agent_stop', reason?: string): void;
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

/** The agent's audit, keyed with the audit subkey of `master` (which the caller still owns). Never throws. */
export function agentAudit(home: string, master: SecureKey, note: (msg: string) => void, opts: AgentAuditOptions = {}): AgentAudit {
  const key = AuditKey.fromMaster(master);
  const log = new AuditLog(home, key, { keepOpen: true, ...(opts.maxBytes ? { maxBytes: opts.maxBytes } : {}), ...(opts.now ? { now: opts.now } : {}) });
  const peer = { uid: typeof process.getuid === 'function' ? process.getuid() : 0, pid: process.pid, exe: process.execPath };
  let unrecorded = 0;
  let lastNote = -Infinity;
  const warn = (msg: string): void => {
    unrecorded++;
    const now = Date.now();
    if (now - lastNote < 60_000) return;
    note(`AUDIT: ${msg}${unrecorded > 1 ? ` (${unrecorded} owner reads unrecorded since the last note)` : ''}`);
    lastNote = now;
    unrecorded = 0;
  };
  const hook = opts.off
    ? (e: AccessEvent): void => {
        if (isDelegated(accessRecord(e).via))
          throw new SesameError('DENIED', 'refused: the audit log is switched off (a benchmark setting), and a delegated read is never served unrecorded', {
            hint: 'restart the agent without SESAME_AUDIT=off',
            detail: { reason: 'audit_unavailable' },
          });
      }
    : auditHook(log, warn);
  let closed = false;
  return {
    door: (d) => withAuditHook(d, hook),
    checkpoint(event, reason) {
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
      log.setKey(undefined);
      log.close();
      key.dispose();
    },
  };
}
