/**
 * The access door's audit hook (src/core/access.ts `AccessHooks.audit`), ready to wire:
 * turns an AccessEvent into an audit record and appends it with `appendOrDeny`, so that a
 * delegated read (token, profile, cell, MCP) that cannot be recorded is refused and an
 * owner's read warns. Names only: the event carries no value, and the record shapes
 * (record.ts) admit none.
 */
import { createHash } from 'node:crypto';
import type { AccessContext, AccessEvent, ClientLabel, ListResult, Selected, VaultSource } from '../access.js';
import type { SesameError } from '../errors.js';
import type { Caller } from '../policy/caller.js';
import type { Selection } from '../vault/vault.js';
import { isValidKeyName, isValidProjectName } from '../names.js';
import { appendOrDeny, type AuditLog } from './log.js';
import { CLIENT_DECLARED, isAbsolutePath, REQUEST, type AuditInput, type Outcome, type Peer } from './record.js';

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

/**
 * A request id as recorded: as the client sent it when it has the record's shape, else `h:`
 * and 16 hex of its SHA-256 — a client chooses its ids, and no id may make a record
 * unwritable (which would deny a delegated read) or carry free text into the log.
 */
export function requestOf(id: string): string {
  return REQUEST.test(id) ? id : `h:${createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 16)}`;
}

/**
 * A declared client as recorded (`client_declared`): `NAME VERSION` when that has the
 * record's narrow shape, else `h:` and 16 hex of the SHA-256 of `NAME\0VERSION` — the
 * client chose both strings, and neither may carry free text into the log nor make a
 * record unwritable. A label: it says what the request claimed, not who sent it.
 */
export function clientDeclaredOf(c: ClientLabel): string {
  const plain = `${c.name} ${c.version}`;
  return CLIENT_DECLARED.test(plain) && !plain.startsWith('h:') ? plain : `h:${createHash('sha256').update(`${c.name}\0${c.version}`, 'utf8').digest('hex').slice(0, 16)}`;
}

/** The record fields of a declared client (`client_via`, `client_declared`); none without one. */
export function clientFields(c: ClientLabel | undefined): { clientVia?: 'mcp'; clientDeclared?: string } {
  return c === undefined ? {} : { clientVia: 'mcp', clientDeclared: clientDeclaredOf(c) };
}

/** The peer's executable as recorded: an absolute path without control characters, else null. */
export function exeOf(exe: string | null): string | null {
  return isAbsolutePath(exe) ? exe : null;
}

/** `via` and `peer` of a record made for `caller` (its exe only when it has a path's shape). */
export function callerFields(caller: Caller): { via: string; peer: Peer } {
  return { via: viaOf(caller), peer: { uid: caller.uid, pid: caller.pid, exe: exeOf(caller.exe) } };
}

/**
 * The request's fields of a record, normalised: `project` only when it is a project name,
 * `request` through `requestOf`, the declared client through `clientFields`.
 */
export function requestFields(r: { project?: string; request?: string; client?: ClientLabel }): Pick<AuditInput, 'project' | 'request' | 'clientVia' | 'clientDeclared'> {
  return {
    ...(r.project !== undefined && isValidProjectName(r.project) ? { project: r.project } : {}),
    ...(r.request !== undefined ? { request: requestOf(r.request) } : {}),
    ...clientFields(r.client),
  };
}

/** The key names asked for, as recorded: each once, key names only. */
export function keyNamesOf(keys: readonly string[]): string[] {
  return [...new Set(keys)].filter(isValidKeyName);
}

/**
 * The record of one access. A denied request records the names it asked for (hidden), so
 * the owner sees what was tried, and the true reason (`scope`, `profile`…) even where the
 * caller was told "does not exist": the log is the owner's. Fields a client chose (request
 * id, names) are normalised so that no request can make its own record unwritable.
 */
export function accessRecord(e: AccessEvent): AuditInput {
  const asked = e.outcome === 'allow' ? e.keys : [...e.keys, ...(e.hidden ?? [])];
  const reason = e.outcome === 'cancelled' ? 'cancelled' : (e.exit ?? e.reason);
  return {
    event: e.exit !== undefined ? 'exec_exit' : e.op,
    outcome: OUTCOME[e.outcome],
    ...(reason !== undefined ? { reason } : {}),
    ...callerFields(e.caller),
    ...requestFields(e),
    keys: keyNamesOf(asked),
    ...(e.argvHash !== undefined ? { argvHash: e.argvHash } : {}),
    ...(e.command !== undefined && exeOf(e.command) !== null ? { command: e.command } : {}),
    ...(e.masked !== undefined ? { masked: Object.fromEntries(Object.entries(e.masked).filter(([k]) => isValidKeyName(k))) } : {}),
  };
}

/** The plaintext door's read functions (access.ts), as the agent's dispatcher takes them. */
export interface ReadDoor {
  readOne(ctx: AccessContext, src: VaultSource, project: string, key: string): Promise<Buffer>;
  readSelected(ctx: AccessContext, src: VaultSource, project: string, sel: Selection): Promise<Selected>;
  listVisible(ctx: AccessContext, src: VaultSource, project: string | undefined, prefix?: string): Promise<ListResult>;
  /** exec's door (access.ts `readForExec`, `refuseExec`, `execEnded`); absent on a door that serves no exec. */
  readForExec?(ctx: AccessContext, src: VaultSource, project: string, sel: Selection, exec: { command: string; argvHash: string }): Promise<Selected>;
  refuseExec?(ctx: AccessContext, src: VaultSource, project: string, exec: { command?: string; argvHash: string; reason: string }, error: SesameError): Promise<never>;
  execEnded?(ctx: AccessContext, project: string, exec: { command: string; argvHash: string; keys: readonly string[] }, end: { exit: string; masked: Readonly<Record<string, number>> }): void;
}

/** `door` with `audit` added to every context's hooks (after any audit hook already there). Names only pass through it. */
export function withAuditHook(door: ReadDoor, audit: (e: AccessEvent) => void): ReadDoor {
  const hooked = (ctx: AccessContext): AccessContext => {
    const hooks = ctx.hooks;
    const both = hooks?.audit
      ? (e: AccessEvent): void => {
          hooks.audit?.(e);
          audit(e);
        }
      : audit;
    return { ...ctx, hooks: { ...ctx.hooks, audit: both } };
  };
  return {
    readOne: (ctx, src, project, key) => door.readOne(hooked(ctx), src, project, key),
    readSelected: (ctx, src, project, sel) => door.readSelected(hooked(ctx), src, project, sel),
    listVisible: (ctx, src, project, prefix) => door.listVisible(hooked(ctx), src, project, prefix),
    ...(door.readForExec
      ? { readForExec: (ctx: AccessContext, src: VaultSource, project: string, sel: Selection, exec: { command: string; argvHash: string }) => door.readForExec!(hooked(ctx), src, project, sel, exec) }
      : {}),
    ...(door.refuseExec
      ? {
          refuseExec: (ctx: AccessContext, src: VaultSource, project: string, exec: { command?: string; argvHash: string; reason: string }, error: SesameError) =>
            door.refuseExec!(hooked(ctx), src, project, exec, error),
        }
      : {}),
    ...(door.execEnded
      ? {
          execEnded: (ctx: AccessContext, project: string, exec: { command: string; argvHash: string; keys: readonly string[] }, end: { exit: string; masked: Readonly<Record<string, number>> }) => {
            door.execEnded!(hooked(ctx), project, exec, end);
          },
        }
      : {}),
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
