/**
 * The access door's audit hook (src/core/access.ts `AccessHooks.audit`), ready to wire:
 * turns an AccessEvent into an audit record and appends it with `appendOrDeny`, so that a
 * delegated read (token, profile, cell, MCP) that cannot be recorded is refused and an
 * owner's read warns. Names only: the event carries no value, and the record shapes
 * (record.ts) admit none.
 */
import type { AccessEvent } from '../access.js';
import type { Caller } from '../policy/caller.js';
import { isValidKeyName } from '../names.js';
import { appendOrDeny, type AuditLog } from './log.js';
import type { AuditInput, Outcome } from './record.js';

/** `via` for a caller: its token, cell or profile when it has one; `cli` for the direct path; else `agent`. */
export function viaOf(caller: Caller): string {
  if (caller.token) return `token:${caller.token.id8}`;
  if (caller.cell) return `cell:${caller.cell.id}`;
  if (caller.listener.kind === 'profile') return `profile:${caller.listener.name ?? '?'}`;
  if ((caller.listener.kind as string) === 'mcp') return 'mcp';
  return caller.listener.via === 'cli' ? 'cli' : 'agent';
}

/** True for every door but the owner's own (cli, agent): its reads fail closed. */
export function isDelegated(via: string): boolean {
  return via !== 'cli' && via !== 'agent';
}

const OUTCOME: Record<AccessEvent['outcome'], Outcome> = { allow: 'ok', deny: 'denied', cancelled: 'error' };

/** The record of one access. A denied request records the names it asked for (hidden), so the owner sees what was tried. */
export function accessRecord(e: AccessEvent): AuditInput {
  const asked = e.outcome === 'allow' ? e.keys : [...e.keys, ...(e.hidden ?? [])];
  const reason = e.outcome === 'cancelled' ? 'cancelled' : e.reason;
  return {
    event: e.op,
    outcome: OUTCOME[e.outcome],
    ...(reason !== undefined ? { reason } : {}),
    via: viaOf(e.caller),
    ...(e.project !== undefined ? { project: e.project } : {}),
    keys: [...new Set(asked)].filter(isValidKeyName),
    peer: { uid: e.caller.uid, pid: e.caller.pid, exe: e.caller.exe },
  };
}

/**
 * The hook: `hooks: { audit: auditHook(log, warn) }`. Throws DENIED (reason
 * `audit_unavailable`) for a delegated caller whose record cannot be written — the door
 * then decrypts nothing; an owner's read goes on after `warn`.
 */
export function auditHook(log: AuditLog, warn: (message: string) => void): (e: AccessEvent) => void {
  return (e) => {
    const rec = accessRecord(e);
    appendOrDeny(log, rec, { delegated: isDelegated(rec.via), warn });
  };
}
