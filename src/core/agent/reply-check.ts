/**
 * What the agent client accepts as a reply (docs/spec/agent-protocol.md, "Replies"). A
 * reply is data from another process — possibly an impostor of our own uid listening at
 * the socket path — so it is held to the protocol as strictly as the agent holds requests:
 *
 * - the envelope: a JSON object with `v` = 1, `ok` a boolean, and the `id` we sent (an
 *   error line may lack it: the agent's peer refusal is written before any request);
 * - the exact field set per op, nothing more, nothing less;
 * - key names by the key-name rule, each once; `missing` only names we asked for; with
 *   `--only`, every asked-for name (within `--prefix`) comes back exactly once;
 * - error codes from sesame's list; messages, hints and status strings without control
 *   characters (they reach a terminal).
 *
 * Every refusal is PROTOCOL (reason `bad_reply`) with a message naming the rule broken,
 * never a value or a name the agent sent. Pure: no I/O.
 */
import { SesameError, isErrorCode } from '../errors.js';
import { isValidKeyName } from '../home.js';
import type { Selection } from '../vault/vault.js';
import { PROTOCOL_VERSION } from './protocol.js';

export type Reply = Record<string, unknown>;

const MAX_TEXT = 4096;

/** The PROTOCOL error for a reply the client refuses; `what` names the rule, never content. */
export function badReply(what: string): SesameError {
  return new SesameError('PROTOCOL', `the agent's reply was refused and not used: ${what}`, {
    remedy: 'agent_upgrade',
    detail: { reason: 'bad_reply' },
  });
}

function isPlainObject(v: unknown): v is Reply {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** The envelope of the reply to request `id`; a reply to another id is refused. */
export function fields(doc: unknown, id: number): Reply {
  if (!isPlainObject(doc)) throw badReply('it is not a JSON object');
  if (doc.v !== PROTOCOL_VERSION) throw badReply(`its protocol version is not ${PROTOCOL_VERSION}`);
  if (typeof doc.ok !== 'boolean') throw badReply('"ok" is missing or not a boolean');
  if (doc.id === undefined ? doc.ok : doc.id !== id) throw badReply('it does not carry the id of the request it answers');
  return doc;
}

function exactly(r: Reply, names: readonly string[], what: string): void {
  const keys = Object.keys(r);
  if (keys.length !== names.length || !names.every((n) => Object.hasOwn(r, n))) {
    throw badReply(`a ${what} must have exactly the fields ${names.join(', ')}`);
  }
}

/** No C0/C1 control characters (escape sequences would reach the terminal), bounded. */
function printable(s: unknown): s is string {
  return typeof s === 'string' && s.length <= MAX_TEXT && !/[\u0000-\u001f\u007f-\u009f]/.test(s);
}

/** Every string (member names included) in a small JSON tree is printable. */
function printableTree(v: unknown, depth = 0): boolean {
  if (depth > 8) return false;
  if (typeof v === 'string') return printable(v);
  if (Buffer.isBuffer(v)) return false;
  if (Array.isArray(v)) return v.every((x) => printableTree(x, depth + 1));
  if (v !== null && typeof v === 'object') return Object.entries(v).every(([k, x]) => printable(k) && printableTree(x, depth + 1));
  return true;
}

/** The SesameError an error reply stands for (to be thrown); PROTOCOL if the reply itself is bad. */
export function checkError(r: Reply): SesameError {
  exactly(r, r.id === undefined ? ['v', 'ok', 'error'] : ['v', 'id', 'ok', 'error'], 'error reply');
  const e = r.error;
  if (!isPlainObject(e)) throw badReply('"error" is not an object');
  for (const k of Object.keys(e)) if (!['code', 'message', 'hint', 'detail'].includes(k)) throw badReply('"error" has a field the protocol does not define');
  if (!isErrorCode(e.code)) throw badReply('"error.code" is not one of sesame\'s error codes');
  if (!printable(e.message)) throw badReply('"error.message" is not a printable string');
  if (e.hint !== undefined && !printable(e.hint)) throw badReply('"error.hint" is not a printable string');
  if (e.detail !== undefined && !(isPlainObject(e.detail) && printableTree(e.detail))) throw badReply('"error.detail" is not an object of printable data');
  const opts: { hint?: string; detail?: Record<string, unknown> } = {};
  if (e.hint !== undefined) opts.hint = e.hint as string;
  if (e.detail !== undefined) opts.detail = e.detail as Record<string, unknown>;
  return new SesameError(e.code, e.message as string, opts);
}

/** `get`: the value's bytes (the caller wipes them). */
export function checkGet(r: Reply): Buffer {
  exactly(r, ['v', 'id', 'ok', 'value'], 'get reply');
  if (!Buffer.isBuffer(r.value)) throw badReply('"value" is not base64');
  return r.value;
}

/** `getselected`: the secrets (the caller wipes them) and the missing names, as asked by `sel`. */
export function checkSelected(r: Reply, sel: Selection): { secrets: Array<[string, Buffer]>; missing: string[] } {
  exactly(r, ['v', 'id', 'ok', 'secrets', 'missing'], 'getselected reply');
  if (!Array.isArray(r.secrets) || !Array.isArray(r.missing)) throw badReply('"secrets" and "missing" must be arrays');
  const inScope = (k: string): boolean => sel.prefix === undefined || k.startsWith(sel.prefix);
  const asked = sel.only ? new Set(sel.only.filter(inScope)) : undefined;
  const seen = new Set<string>();
  const name = (k: unknown, where: string): string => {
    if (typeof k !== 'string' || !isValidKeyName(k)) throw badReply(`a name in "${where}" breaks the key-name rule`);
    if (seen.has(k)) throw badReply(`a key name comes back twice`);
    if (asked ? !asked.has(k) : !inScope(k)) throw badReply(`a name in "${where}" was not asked for`);
    seen.add(k);
    return k;
  };
  const secrets: Array<[string, Buffer]> = [];
  for (const e of r.secrets as unknown[]) {
    if (!isPlainObject(e)) throw badReply('an entry of "secrets" is not an object');
    exactly(e, ['key', 'value'], 'secrets entry');
    if (!Buffer.isBuffer(e.value)) throw badReply('an entry\'s "value" is not base64');
    secrets.push([name(e.key, 'secrets'), e.value]);
  }
  if (!asked && r.missing.length) throw badReply('"missing" lists names although none were asked for');
  const missing = (r.missing as unknown[]).map((k) => name(k, 'missing'));
  if (asked && seen.size !== asked.size) throw badReply('a key that was asked for is neither in "secrets" nor in "missing"');
  return { secrets, missing };
}

/** `status`: the agent's self-description (never secret). */
export function checkStatus(r: Reply): Reply {
  exactly(r, ['v', 'id', 'ok', 'status'], 'status reply');
  if (!isPlainObject(r.status) || !printableTree(r.status)) throw badReply('"status" is not an object of printable data');
  return r.status;
}

/** `stop`: the agent acknowledged. */
export function checkStop(r: Reply): void {
  exactly(r, ['v', 'id', 'ok', 'stopping'], 'stop reply');
  if (r.stopping !== true) throw badReply('"stopping" is not true');
}
