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
 * Version 2 frames (`classify`, `check*Frame`) are held to the same rules for the members
 * the spec defines; members a frame may grow without a version bump are ignored (Part 2,
 * "Frames", rule 4) — the client wipes any `value` Buffer it did not consume.
 *
 * Every refusal is PROTOCOL (reason `bad_reply`) with a message naming the rule broken,
 * never a value or a name the agent sent. Pure: no I/O.
 */
import { SesameError, isErrorCode, isRemedy, type Remedy } from '../errors.js';
import { isValidKeyName, isValidProjectName } from '../names.js';
import type { Selection } from '../vault/vault.js';

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

function exactly(r: Reply, names: readonly string[], what: string): void {
  const keys = Object.keys(r);
  if (keys.length !== names.length || !names.every((n) => Object.hasOwn(r, n))) {
    throw badReply(`a ${what} must have exactly the fields ${names.join(', ')}`);
  }
}

/** No C0/C1 control characters (escape sequences would reach the terminal), bounded. */
function printable(s: unknown): s is string {
  return typeof s === 'string' && s.length <= MAX_TEXT && !hasControl(s);
}

/** A C0 (U+0000–U+001F), DEL or C1 (U+007F–U+009F) character anywhere in `s`. */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
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
  return errorOf(r.error);
}

/** The error object `{code, message, hint?, remedy?, detail?}` of either version, rebuilt. */
function errorOf(e: unknown): SesameError {
  if (!isPlainObject(e)) throw badReply('"error" is not an object');
  for (const k of Object.keys(e)) if (!['code', 'message', 'hint', 'remedy', 'detail'].includes(k)) throw badReply('"error" has a field the protocol does not define');
  if (e.remedy !== undefined && !isRemedy(e.remedy)) throw badReply('"error.remedy" is not one of sesame\'s remedies');
  if (!isErrorCode(e.code)) throw badReply('"error.code" is not one of sesame\'s error codes');
  if (!printable(e.message)) throw badReply('"error.message" is not a printable string');
  if (e.hint !== undefined && !printable(e.hint)) throw badReply('"error.hint" is not a printable string');
  if (e.detail !== undefined && !(isPlainObject(e.detail) && printableTree(e.detail))) throw badReply('"error.detail" is not an object of printable data');
  const opts: { hint?: string; remedy?: Remedy; detail?: Record<string, unknown> } = {};
  if (e.hint !== undefined) opts.hint = e.hint;
  if (e.remedy !== undefined) opts.remedy = e.remedy;
  if (e.detail !== undefined) opts.detail = e.detail;
  return new SesameError(e.code, e.message, opts);
}

function selected(r: Reply, sel: Selection): { secrets: Array<[string, Buffer]>; missing: string[] } {
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

// ---- version 2 frames (docs/spec/agent-protocol.md, "Frames") ----

/** The members every v2 frame has. */
const FRAME_ENVELOPE = ['v', 'id', 'frame'] as const;
/** Final frame types of version 2 (closed set). */
const FINAL_FRAMES = new Set(['ok', 'error', 'exit']);

/** What one line received on a v2 connection is, for the client's router. */
export type Incoming =
  | { kind: 'frame'; id: number | string | null; frame: string; final: boolean; r: Reply }
  /** A v1-form line: a connection-level error (no id), or the answer of an agent that does not speak v2 (with id). */
  | { kind: 'v1'; id: number | string | undefined; r: Reply };

/** Sorts a parsed line into a v2 frame or a v1-form line; PROTOCOL (bad_reply) for anything else. */
export function classify(doc: unknown): Incoming {
  if (!isPlainObject(doc)) throw badReply('it is not a JSON object');
  if (doc.v === 2) {
    if (typeof doc.frame !== 'string' || !/^[a-z][a-z0-9_]{0,31}$/.test(doc.frame)) throw badReply('"frame" is missing or not a frame type');
    if (!Object.hasOwn(doc, 'id') || !(doc.id === null || typeof doc.id === 'string' || Number.isSafeInteger(doc.id))) throw badReply('a frame does not carry an id');
    return { kind: 'frame', id: doc.id as number | string | null, frame: doc.frame, final: FINAL_FRAMES.has(doc.frame), r: doc };
  }
  if (doc.v === 1 && !Object.hasOwn(doc, 'frame') && doc.ok === false) {
    if (doc.id !== undefined && typeof doc.id !== 'string' && !Number.isSafeInteger(doc.id)) throw badReply('it does not carry a valid id');
    return { kind: 'v1', id: doc.id as number | string | undefined, r: doc };
  }
  throw badReply('it is neither a version 2 frame nor a version 1 error line');
}

/** Version 2: the frame's members besides the envelope must include `names`; members it does not know are ignored (Part 2, rule 4). */
function frameHas(r: Reply, names: readonly string[], what: string): void {
  for (const n of [...FRAME_ENVELOPE, ...names]) if (!Object.hasOwn(r, n)) throw badReply(`a ${what} must have the fields ${[...FRAME_ENVELOPE, ...names].join(', ')}`);
}

/** The SesameError an `error` frame stands for (to be thrown); PROTOCOL if the frame itself is bad. */
export function checkErrorFrame(r: Reply): SesameError {
  frameHas(r, ['error'], 'error frame');
  return errorOf(r.error);
}

/** `get` (v2 `ok` frame): the value's bytes (the caller wipes them). */
export function checkGetFrame(r: Reply): Buffer {
  frameHas(r, ['value'], 'get frame');
  if (!Buffer.isBuffer(r.value)) throw badReply('"value" is not base64');
  return r.value;
}

/** `getselected` (v2 `ok` frame): the secrets (the caller wipes them) and the missing names, as asked by `sel`. */
export function checkSelectedFrame(r: Reply, sel: Selection): { secrets: Array<[string, Buffer]>; missing: string[] } {
  frameHas(r, ['secrets', 'missing'], 'getselected frame');
  return selected(r, sel);
}

/** `status` (v2 `ok` frame): the agent's self-description (never secret). */
export function checkStatusFrame(r: Reply): Reply {
  frameHas(r, ['status'], 'status frame');
  if (!isPlainObject(r.status) || !printableTree(r.status)) throw badReply('"status" is not an object of printable data');
  return r.status;
}

/** `stop` (v2 `ok` frame). */
export function checkStopFrame(r: Reply): void {
  frameHas(r, ['stopping'], 'stop frame');
  if (r.stopping !== true) throw badReply('"stopping" is not true');
}

/** One key's metadata as `list` returns it (never a value). */
export interface ListedKey {
  key: string;
  created_at: string;
  updated_at: string;
  version: number;
  high_value: boolean;
}

/**
 * `list` (v2 `ok` frame): projects and key metadata. Names must follow the name rules, come
 * once each, in byte order; with `project`, exactly that one comes back; with `prefix`,
 * only keys starting with it. Unknown metadata members are dropped.
 */
export function checkListFrame(r: Reply, project: string | undefined, prefix: string | undefined): Array<{ name: string; keys: ListedKey[] }> {
  frameHas(r, ['projects'], 'list frame');
  if (!Array.isArray(r.projects)) throw badReply('"projects" is not an array');
  const out: Array<{ name: string; keys: ListedKey[] }> = [];
  let last: string | undefined;
  for (const p of r.projects as unknown[]) {
    if (!isPlainObject(p) || typeof p.name !== 'string' || !isValidProjectName(p.name) || !Array.isArray(p.keys)) throw badReply('an entry of "projects" is not a project with a name and keys');
    if (last !== undefined && !(last < p.name)) throw badReply('"projects" is not in byte order, or names a project twice');
    if (project !== undefined && p.name !== project) throw badReply('a project that was not asked for came back');
    last = p.name;
    const keys: ListedKey[] = [];
    let lastKey: string | undefined;
    for (const k of p.keys as unknown[]) {
      if (!isPlainObject(k) || typeof k.key !== 'string' || !isValidKeyName(k.key)) throw badReply('a key in "projects" breaks the key-name rule');
      if (lastKey !== undefined && !(lastKey < k.key)) throw badReply('keys are not in byte order, or a key comes twice');
      if (prefix !== undefined && !k.key.startsWith(prefix)) throw badReply('a key outside the prefix came back');
      if (!printable(k.created_at) || !printable(k.updated_at) || !Number.isSafeInteger(k.version) || typeof k.high_value !== 'boolean') throw badReply('key metadata is not of the expected types');
      lastKey = k.key;
      keys.push({ key: k.key, created_at: k.created_at, updated_at: k.updated_at, version: k.version as number, high_value: k.high_value });
    }
    out.push({ name: p.name, keys });
  }
  if (project !== undefined && out.length !== 1) throw badReply('the project that was asked for did not come back');
  return out;
}

/** A `pending` frame's announced wait in ms (0 if none); PROTOCOL if it is ill-formed. Never secret. */
export function checkPendingFrame(r: Reply): number {
  frameHas(r, ['reason', 'message'], 'pending frame');
  if (!printable(r.reason) || !printable(r.message)) throw badReply("a pending frame's reason or message is not printable");
  if (r.detail === undefined) return 0;
  if (!isPlainObject(r.detail) || !printableTree(r.detail)) throw badReply("a pending frame's detail is not an object of printable data");
  const s = r.detail.expires_in_s;
  return Number.isSafeInteger(s) && (s as number) > 0 ? Math.min(s as number, 86_400) * 1000 : 0;
}
