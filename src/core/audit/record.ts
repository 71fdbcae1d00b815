/**
 * One audit record: its fields, the rules that keep every field free of secrets, and its
 * exact bytes on disk (docs/spec/audit-log.md).
 *
 * A record is one line of JSON, fields in a fixed order, the `mac` field always last:
 *
 *   {"v":1,"seq":7,"prev":"<sha256 hex of line 6's bytes>","time":"…Z","event":"set",
 *    "outcome":"ok","via":"cli","project":"default","keys":["API_KEY"],"peer":{…},
 *    "kid":"<16 hex>","mac":"<64 hex>"}
 *
 * The MAC (keyed BLAKE2b-256 under the audit subkey) covers the line's "body": the exact
 * bytes before `,"mac":` followed by `}`. An unkeyed record has no `kid` and `"mac":null`.
 *
 * Contract: every field is checked against a narrow shape before it is written (names,
 * codes, a path, hex), so no free text — and so no value, token or passphrase — can reach
 * the file through this module. Argv is recorded only as a hash (`argvHash`).
 */
import { createHash } from 'node:crypto';
import { SesameError } from '../errors.js';
import { isValidKeyName, isValidProjectName } from '../names.js';

/** The `v` of every audit record this sesame writes; a record with another is refused by the verifier. */
export const RECORD_VERSION = 1;
/** The `prev` of the very first record of a chain. */
export const GENESIS = '0'.repeat(64);
/** A record longer than this is refused (an import of thousands of names still fits). */
export const MAX_LINE = 1024 * 1024;

export type Outcome = 'ok' | 'denied' | 'error';

/** Who (which process) caused the event. Never its argv or environment. */
export interface Peer {
  readonly uid: number;
  readonly pid: number | null;
  readonly exe: string | null;
}

/** What a caller hands to the log: everything but the chain fields, which the log fills in. */
export interface AuditInput {
  /** e.g. init, set, rm, import, unlock, lock, passphrase, get, list, agent_start. */
  readonly event: string;
  readonly outcome: Outcome;
  /** A short code: wrong_passphrase, scope, audit_unavailable, seal, … */
  readonly reason?: string;
  /** cli, agent, mcp, profile:NAME, token:ID8, cell:ID. */
  readonly via: string;
  readonly project?: string;
  /** Key names only. */
  readonly keys?: readonly string[];
  readonly peer?: Peer;
  readonly request?: string;
  /** SHA-256 hex of an exec's argv (`argvHash`). */
  readonly argvHash?: string;
  /** The absolute real path an exec ran (never its arguments). */
  readonly command?: string;
  /** An exec's masked hits per key name (`exec_exit`). */
  readonly masked?: Readonly<Record<string, number>>;
  /** The front end a request declared it came through (`client_via`: only `mcp`); a label, never the door (`via`). */
  readonly clientVia?: 'mcp';
  /** The client it declared, `NAME VERSION` or `h:` + 16 hex (access-hook.ts `clientDeclaredOf`); present exactly with `clientVia`. */
  readonly clientDeclared?: string;
}

/** A record as read back: an input's fields (the camelCase ones in their snake_case spelling on disk) with the chain's. */
export interface AuditRecord extends Omit<AuditInput, 'argvHash' | 'clientVia' | 'clientDeclared'> {
  readonly v: number;
  readonly seq: number;
  readonly prev: string;
  readonly time: string;
  readonly argv_hash?: string;
  readonly client_via?: 'mcp';
  readonly client_declared?: string;
  readonly kid?: string;
  readonly mac: string | null;
}

const OUTCOMES: ReadonlySet<string> = new Set(['ok', 'denied', 'error']);
const EVENT = /^[a-z][a-z0-9_.-]{0,31}$/;
const REASON = /^[a-z0-9][a-z0-9_.:-]{0,63}$/;
const VIA = /^(cli|agent|mcp|profile:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}|token:[0-9a-f]{8}|cell:[A-Za-z0-9_.-]{1,64})$/;
/** A request id as recorded (`request`): 1–64 characters of a narrow alphabet (access-hook.ts `requestOf` hashes any other). */
export const REQUEST = /^[A-Za-z0-9_.:-]{1,64}$/;
const HEX64 = /^[0-9a-f]{64}$/;
/** A declared client as recorded: `NAME VERSION` in a narrow alphabet, or `h:` and 16 hex of the SHA-256 of what was declared. */
export const CLIENT_DECLARED = /^([A-Za-z0-9_.@+-]{1,64} [A-Za-z0-9_.+-]{1,64}|h:[0-9a-f]{16})$/;
/** Sixteen lowercase hex digits: the shape of a record's key id (`kid`). */
const HEX16 = /^[0-9a-f]{16}$/;

/** `reason` when it has a record's reason shape (a short code), else `fallback`: a reason a client or an error chose never makes its record unwritable. */
export function reasonCode(reason: string, fallback: string): string {
  return REASON.test(reason) ? reason : fallback;
}

function bad(what: string): never {
  throw new SesameError('INVALID', `internal: refusing to write an audit record: ${what}`);
}

/** Throws INVALID unless every field has its narrow shape (the no-secrets rule). Never echoes the field's content. */
export function checkInput(r: AuditInput): void {
  if (!EVENT.test(r.event)) bad('the event is not a short code');
  if (!OUTCOMES.has(r.outcome)) bad('the outcome is not ok, denied or error');
  if (r.reason !== undefined && !REASON.test(r.reason)) bad('the reason is not a short code');
  if (!VIA.test(r.via)) bad('via is not cli, agent, mcp, profile:NAME, token:ID8 or cell:ID');
  if (r.project !== undefined && !isValidProjectName(r.project)) bad('the project is not a project name');
  if (r.keys !== undefined && !r.keys.every((k) => typeof k === 'string' && isValidKeyName(k))) bad('a key is not a key name');
  if (r.request !== undefined && !REQUEST.test(r.request)) bad('the request id is not an id');
  if (r.argvHash !== undefined && !HEX64.test(r.argvHash)) bad('argv_hash is not a SHA-256 hex digest');
  if (r.command !== undefined && !isAbsolutePath(r.command)) bad('the command is not an absolute path');
  if (r.masked !== undefined && !Object.entries(r.masked).every(([k, n]) => isValidKeyName(k) && Number.isSafeInteger(n) && n >= 0)) bad('masked is not key names with counts');
  if (r.clientVia !== undefined && (r.clientVia as string) !== 'mcp') bad('client_via is not mcp');
  if ((r.clientVia === undefined) !== (r.clientDeclared === undefined)) bad('client_via and client_declared go together');
  if (r.clientDeclared !== undefined && !CLIENT_DECLARED.test(r.clientDeclared)) bad('client_declared is not NAME VERSION or a hash');
  if (r.peer) {
    const { uid, pid, exe } = r.peer;
    if (!Number.isSafeInteger(uid) || uid < 0) bad('the peer uid is not a uid');
    if (pid !== null && (!Number.isSafeInteger(pid) || pid <= 0)) bad('the peer pid is not a pid');
    if (exe !== null && !isAbsolutePath(exe)) bad('the peer exe is not an absolute path');
  }
}

/** An absolute path of at most 4096 characters without control characters (the shape of `exe` and `command`). */
export function isAbsolutePath(p: unknown): boolean {
  return typeof p === 'string' && p.startsWith('/') && p.length <= 4096 && !Array.from(p, (c) => c.charCodeAt(0)).some((c) => c < 0x20);
}

/** SHA-256 hex of an exec's argv (each element length-prefixed, so ["a b"] ≠ ["a","b"]). Argv can hold secrets; this never does. */
export function argvHash(argv: readonly (string | Buffer)[]): string {
  const h = createHash('sha256').update('sesame/v1/argv\0');
  for (const a of argv) {
    const b = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    h.update(len).update(b);
  }
  return h.digest('hex');
}

/** SHA-256 hex of a line's exact bytes (without its newline): the next record's `prev`, and the head's hash. */
export function lineHash(line: Buffer): string {
  return createHash('sha256').update(line).digest('hex');
}

/**
 * The body of a new record (fields in their fixed order, without `mac`), as the bytes the
 * MAC covers: JSON ending in `}`.
 */
export function recordBody(r: AuditInput, seq: number, prev: string, time: Date, kid: string | undefined): Buffer {
  checkInput(r);
  const o: Record<string, unknown> = { v: RECORD_VERSION, seq, prev, time: time.toISOString(), event: r.event, outcome: r.outcome };
  if (r.reason !== undefined) o.reason = r.reason;
  o.via = r.via;
  if (r.project !== undefined) o.project = r.project;
  if (r.keys !== undefined) o.keys = [...r.keys];
  if (r.peer) o.peer = { uid: r.peer.uid, pid: r.peer.pid, exe: r.peer.exe };
  if (r.request !== undefined) o.request = r.request;
  if (r.argvHash !== undefined) o.argv_hash = r.argvHash;
  if (r.command !== undefined) o.command = r.command;
  if (r.masked !== undefined) o.masked = { ...r.masked };
  if (r.clientVia !== undefined) o.client_via = r.clientVia;
  if (r.clientDeclared !== undefined) o.client_declared = r.clientDeclared;
  if (kid !== undefined) o.kid = kid;
  return Buffer.from(JSON.stringify(o), 'utf8');
}

/** The full line (no newline): the body with `,"mac":…}` in place of its final `}`. */
export function withMac(body: Buffer, mac: Buffer | null): Buffer {
  const tail = mac ? `,"mac":"${mac.toString('hex')}"}` : ',"mac":null}';
  return Buffer.concat([body.subarray(0, body.length - 1), Buffer.from(tail, 'latin1')]);
}

/** A line split into its parsed record and the bytes its MAC covers; a string saying why when it is not a record. */
export function parseLine(line: Buffer): { rec: AuditRecord; body: Buffer } | string {
  if (line.length > MAX_LINE) return 'longer than a record may be';
  const text = line.toString('utf8');
  const m = /,"mac":(null|"[0-9a-f]{64}")\}$/.exec(text);
  if (!m) return 'not an audit record (no trailing mac field)';
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'not a JSON object';
  const r = o as Record<string, unknown>;
  if (r.v !== RECORD_VERSION) return `unknown record version ${JSON.stringify(r.v)}`;
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 1) return 'no valid seq';
  if (typeof r.prev !== 'string' || !HEX64.test(r.prev)) return 'no valid prev hash';
  if (typeof r.time !== 'string' || Number.isNaN(Date.parse(r.time))) return 'no valid time';
  if (typeof r.event !== 'string' || typeof r.via !== 'string') return 'no event or via';
  if (r.outcome !== 'ok' && r.outcome !== 'denied' && r.outcome !== 'error') return 'no valid outcome';
  if (r.mac !== null && (r.kid === undefined || typeof r.kid !== 'string' || !HEX16.test(r.kid))) return 'a keyed record without a valid kid';
  if (r.mac === null && r.kid !== undefined) return 'an unkeyed record with a kid';
  const bodyText = `${text.slice(0, m.index)}}`;
  return { rec: r as unknown as AuditRecord, body: Buffer.from(bodyText, 'utf8') };
}
