/**
 * The one access decision (docs/spec/agent-protocol.md, "Listeners and callers"; the
 * errors in "Errors (version 2)"). Every rule about who may do what lives here and nowhere
 * else; the connection layer and the plaintext door ask, and do what the Decision says.
 *
 * PURE: no I/O, no clock, no globals. Inputs are the Caller (src/core/policy/caller.ts),
 * the validated request's names, and a Policy snapshot (tokens, profiles; taken once per
 * request, so a reload never changes a decision half-way). Same inputs, same Decision.
 *
 * Rules of this version (today's, unchanged, plus the shape the next issues fill in):
 * - owner socket: peer uid = the agent's uid; `stop` only for the owner (no scoped token);
 * - profile socket: the profile's peer rule, projects, key globs and `reveal`; never `stop`;
 * - cell socket: the cell policy's peer rule; `status` and `resolve`; a resolve reads as `get`
 *   with the cell's id on the Caller, seeing what the first `cells.toml` rule matching the id
 *   allows (no rule: nothing);
 * - owner administration (approvals, grants, cells: `approvals`, `challenge`, `approve`,
 *   `deny`, `grant_revoke`, `cells`, `cell_revoke`, `cell_forget`): only on the owner socket
 *   and only without a token (even an unrestricted one): a delegated caller never decides;
 * - a token narrows whatever its listener allows (projects, key globs, ops);
 * - OUT OF SCOPE LOOKS EXACTLY LIKE NONEXISTENT: a name the caller may not see yields a
 *   `hidden` denial that the caller MUST answer exactly as "no such project/key";
 * - an op this module does not know is denied (fail closed), so a new op needs a rule here.
 *
 * Names are decided BEFORE anything is decrypted: `authorizeKeys` filters a selection so
 * that a value the caller may not see is never decrypted.
 */
import { SesameError } from '../errors.js';
import type { Caller, Scope, ScopedOp } from './caller.js';

/** Who may connect to a socket: the agent's uid, anyone who can reach it, or listed uids. */
export type PeerRule = 'same-uid' | 'any' | readonly number[];

/** A profile as policy (issue 9 parses it from `profiles/<name>.toml`). */
export interface ProfilePolicy {
  readonly name: string;
  readonly projects: readonly string[];
  /** Key globs (see `matchKeyGlob`); a key is visible when it matches at least one. */
  readonly keys: readonly string[];
  /** May `get`/`getselected` return values (else only exec may use them). */
  readonly reveal: boolean;
  readonly peer: PeerRule;
  readonly requireToken: boolean;
}

/** One rule of `cells.toml`: the cell ids it matches (a glob) and what they may resolve. */
export interface CellRule {
  /** A glob over cell ids (`*`, `?`; see `matchKeyGlob`). */
  readonly id: string;
  readonly projects: readonly string[];
  readonly keys: readonly string[];
}

/** The cell socket's policy (issue 11). */
export interface CellPolicy {
  readonly peer: PeerRule;
  readonly projects: readonly string[];
  readonly keys: readonly string[];
  /** `cells.toml` rules, first match wins; when present, a cell's view is its rule's (no match: nothing). */
  readonly rules?: readonly CellRule[];
}

/** A stored token (issue 9): its digest and scope. Resolution to a TokenGrant happens elsewhere. */
export interface TokenRecord {
  readonly id8: string;
  /** Hex SHA-256 of the token; the raw token is never stored. */
  readonly digest: string;
  readonly scope: Scope;
  readonly name?: string;
  readonly expiresAtMs?: number;
  /** Set once revoked (the record stays so logs can tell revoked from unknown; policy/tokens.ts). */
  readonly revokedAtMs?: number;
}

/** The policy snapshot `authorize` decides against. Immutable; replaced whole on reload. */
export interface Policy {
  /** The uid the agent runs as: the owner. */
  readonly agentUid: number;
  /** `agent start --require-token`: the owner socket needs a token too. */
  readonly requireToken: boolean;
  readonly tokens: readonly TokenRecord[];
  /** By profile name. A Map, never a plain object (names are user input). */
  readonly profiles: ReadonlyMap<string, ProfilePolicy>;
  /** Absent: the agent serves no cell socket. */
  readonly cells?: CellPolicy;
}

/** Today's policy: the owner alone, no tokens, no profiles, no cells. */
export function ownerOnlyPolicy(agentUid: number): Policy {
  return Object.freeze({ agentUid, requireToken: false, tokens: Object.freeze([]), profiles: new Map<string, ProfilePolicy>() });
}

/**
 * What `authorize` needs of a request: its op and the names it touches, already validated
 * by the protocol decoder. `tokenPresented` is true when the request carried a `token`
 * (whether or not it verified; the verified one is `caller.token`). Never the token itself.
 */
export interface AuthRequest {
  readonly op: string;
  readonly project?: string;
  readonly key?: string;
  readonly pid?: number;
  readonly tokenPresented?: boolean;
}

/** Why a request was refused; `detail.reason` on the wire (and the audit's reason). */
export type DenyReason = 'peer' | 'pid' | 'listener' | 'token_unknown' | 'token_required' | 'scope' | 'owner_only' | 'reveal' | 'unknown_op';

/** The owner-administration ops (approvals, grants, cells): owner socket, no token. */
export const ADMIN_OPS = ['approvals', 'approve', 'cell_forget', 'cell_revoke', 'cells', 'challenge', 'deny', 'grant_revoke'] as const;

/**
 * The names a caller may see: a project must be in every `projects` list, a key must match
 * at least one glob of every `keyGlobs` list (token and profile are intersected). An empty
 * outer list means no restriction on that axis.
 */
export interface View {
  readonly projects: readonly (readonly string[])[];
  readonly keyGlobs: readonly (readonly string[])[];
}

/** Go ahead, seeing only what `view` admits. */
export interface Allow {
  readonly allow: true;
  /** Apply it to every selection before decrypting (`authorizeKeys`, `visibleProjects`). */
  readonly view: View;
}

/** A refusal the caller renders as itself: `code` with `message`, `hint`, `detail: {reason}`. */
export interface OpenDeny {
  readonly allow: false;
  readonly hidden: false;
  readonly reason: DenyReason;
  readonly code: 'DENIED' | 'PROTOCOL';
  readonly message: string;
  readonly hint: string;
  /** The connection must be closed after the reply (peer and pid refusals). */
  readonly close: boolean;
}

/**
 * A refusal that MUST look exactly like nonexistence: answer with the vault's own NOT_FOUND
 * for `notFound` (the project, or the key in the project) — same code, message, hint and
 * detail — and do no work a nonexistent name would not cause. The reason is for the audit.
 */
export interface HiddenDeny {
  readonly allow: false;
  readonly hidden: true;
  readonly reason: 'scope';
  readonly notFound: { readonly project: string; readonly key?: string };
}

/** A refusal: rendered as itself (OpenDeny) or as nonexistence (HiddenDeny). */
export type Deny = OpenDeny | HiddenDeny;
/** What `authorize` answers. */
export type Decision = Allow | Deny;

type OpClass = 'status' | 'stop' | 'reveal' | 'names' | 'use' | 'write' | 'admin' | 'resolve';
/** The ops this policy knows. Anything else is denied (`unknown_op`). */
const OP_CLASS: ReadonlyMap<string, OpClass> = new Map<string, OpClass>([
  ['status', 'status'],
  ['stop', 'stop'],
  ['get', 'reveal'],
  ['getfd', 'reveal'],
  ['getselected', 'reveal'],
  ['list', 'names'],
  ['exec', 'use'],
  ['check', 'use'],
  ['write', 'write'],
  ['resolve', 'resolve'],
  ...ADMIN_OPS.map((op): [string, OpClass] => [op, 'admin']),
]);

const open = (reason: DenyReason, message: string, hint: string, close = false, code: 'DENIED' | 'PROTOCOL' = 'DENIED'): OpenDeny =>
  Object.freeze({ allow: false, hidden: false, reason, code, message, hint, close });

/**
 * The accept-time decision: may this Caller use this listener at all? Checks the peer rule
 * of the caller's listener (and that the listener has a policy in force). `authorize`
 * repeats it for every request. Pure; never throws.
 */
export function authorizeConnection(caller: Caller, policy: Policy): Allow | OpenDeny {
  const l = caller.listener;
  let rule: PeerRule;
  if (l.kind === 'owner') rule = 'same-uid';
  else if (l.kind === 'profile') {
    const p = l.name === undefined ? undefined : policy.profiles.get(l.name);
    if (!p) return open('listener', 'denied: this socket has no policy in force', 'ask the owner to check the profiles (sesame profile check)', true);
    rule = p.peer;
  } else {
    if (!policy.cells) return open('listener', 'denied: this socket has no policy in force', 'ask the owner to check the cell policy', true);
    rule = policy.cells.peer;
  }
  if (!peerAllowed(rule, caller.uid, policy.agentUid)) {
    return l.kind === 'owner'
      ? open('peer', `denied: the agent serves only uid ${policy.agentUid}; you are uid ${caller.uid}`, 'run sesame as the user who started the agent', true)
      : open('peer', `denied: this socket does not serve uid ${caller.uid}`, 'ask the owner which socket serves you', true);
  }
  return Object.freeze({ allow: true, view: viewOf(caller, policy) });
}

/**
 * The decision for one request. Order: listener and peer; the pid claim; the token
 * (presented but unverified → `token_unknown`; required but absent → `token_required`);
 * the op (unknown → `unknown_op`; outside the token's ops → `scope`; `stop` by anyone but
 * the owner → `owner_only`; values from a non-revealing profile → `reveal`); then names
 * (a project or key outside the view → a HiddenDeny). Op-level refusals never depend on
 * names, so they reveal nothing about what exists. Pure; never throws.
 */
export function authorize(caller: Caller, req: AuthRequest, policy: Policy): Decision {
  const conn = authorizeConnection(caller, policy);
  if (!conn.allow) return conn;
  if (req.pid !== undefined && req.pid !== caller.pid) {
    return open('pid', 'denied: the request pid does not match the connecting process', 'omit pid, or send your own process id', true);
  }
  if (req.tokenPresented && !caller.token) return open('token_unknown', 'denied: unknown or expired token', 'ask the owner for a new token');
  // Owner administration needs no token even under --require-token: it is refused WITH one, and
  // every decision that widens access carries a proof the agent verifies (docs/approvals.md).
  if (OP_CLASS.get(req.op) === 'admin') {
    if (caller.listener.kind !== 'owner' || caller.token || req.tokenPresented) {
      return open('owner_only', `denied: only the owner may use ${req.op}, on the owner socket and without a token`, 'run it as the owner, on the owner socket, with SESAME_AGENT_TOKEN unset');
    }
    return conn;
  }
  if (!caller.token && tokenRequired(caller, policy)) return open('token_required', 'denied: this socket requires a token', 'set SESAME_AGENT_TOKEN');
  const cls = OP_CLASS.get(req.op);
  const shown = JSON.stringify(req.op.slice(0, 32));
  if (cls === undefined) return open('unknown_op', `unknown op ${shown}`, 'see the ops list in the agent status', false, 'PROTOCOL');
  const outOfScope = (): OpenDeny => open('scope', `denied: op ${req.op} is outside this caller's scope`, `ask the owner for a token or profile that allows ${req.op}`);
  if (cls === 'stop') {
    if (caller.listener.kind !== 'owner' || (caller.token && !unrestricted(caller.token.scope))) {
      return open('owner_only', 'denied: only the owner may stop the agent', 'run sesame agent stop as the owner, on the owner socket');
    }
    return conn;
  }
  // The owner's writes (agent start --writes): the owner socket, no token, whatever the token's scope.
  if (cls === 'write') {
    if (caller.listener.kind !== 'owner' || caller.token || req.tokenPresented) {
      return open('owner_only', 'denied: writes go only through the owner socket, without a token', 'run the command as the owner, without SESAME_AGENT_TOKEN');
    }
    return conn;
  }
  // status is allowed to anyone the listener admits: it names no project or key.
  if (cls === 'status') return conn;
  if (cls === 'resolve') return caller.listener.kind === 'cell' ? conn : outOfScope();
  const ops = caller.token?.scope.ops;
  // getfd delivers what get reveals, in another form: a token's `get` covers it.
  if (ops && !ops.includes((req.op === 'getfd' ? 'get' : req.op) as ScopedOp)) return outOfScope();
  // A cell reads only through `resolve`, which names the cell on the Caller and reads as `get`.
  if (caller.listener.kind === 'cell' && !(caller.cell && req.op === 'get')) return outOfScope();
  if (cls === 'reveal' && caller.listener.kind === 'profile' && !profileOf(caller, policy)?.reveal) {
    return open('reveal', 'denied: this profile does not reveal values', 'use exec, which injects values without revealing them');
  }
  if (req.project !== undefined) {
    if (!projectInView(conn.view, req.project)) return hidden(req.project);
    if (req.key !== undefined && !keyInView(conn.view, req.key)) return hidden(req.project, req.key);
  }
  return conn;
}

function hidden(project: string, key?: string): HiddenDeny {
  return Object.freeze({ allow: false, hidden: true, reason: 'scope', notFound: Object.freeze(key === undefined ? { project } : { project, key }) });
}

/**
 * Splits a selection of key names of `project` into those the caller may see and those it
 * may not, BEFORE anything is decrypted; order is kept, duplicates are kept as given. The
 * caller decrypts only `visible` and treats `hidden` exactly as absent names (e.g. in
 * `getselected`'s `missing`, in request order among the truly missing). When the project
 * itself is out of view every name is hidden. Pure; never throws.
 */
export function authorizeKeys(caller: Caller, project: string, names: readonly string[], policy: Policy): { visible: string[]; hidden: string[] } {
  const view = viewOf(caller, policy);
  if (!projectInView(view, project)) return { visible: [], hidden: [...names] };
  const visible: string[] = [];
  const hiddenNames: string[] = [];
  for (const n of names) (keyInView(view, n) ? visible : hiddenNames).push(n);
  return { visible, hidden: hiddenNames };
}

/** The project names of `projects` the caller may see, order kept (for `list`). Pure. */
export function visibleProjects(caller: Caller, projects: readonly string[], policy: Policy): string[] {
  const view = viewOf(caller, policy);
  return projects.filter((p) => projectInView(view, p));
}

/** True when `project` is in the view. */
export function projectInView(view: View, project: string): boolean {
  return view.projects.every((list) => list.includes(project));
}

/** True when `key` matches at least one glob of every list of the view. */
export function keyInView(view: View, key: string): boolean {
  return view.keyGlobs.every((globs) => globs.some((g) => matchKeyGlob(g, key)));
}

/** A key glob: 1–256 of `[A-Za-z0-9_*?]`. */
export function isValidKeyGlob(glob: string): boolean {
  return /^[A-Za-z0-9_*?]{1,256}$/.test(glob);
}

/**
 * Matches a key name against a glob: `*` any run (also empty), `?` exactly one character,
 * everything else itself (case-sensitive). Linear backtracking on the last `*` only, no
 * regular expression: no catastrophic input. Pure.
 */
export function matchKeyGlob(glob: string, name: string): boolean {
  let g = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    if (g < glob.length && (glob[g] === '?' || glob[g] === name[n])) {
      g++;
      n++;
    } else if (g < glob.length && glob[g] === '*') {
      star = g++;
      mark = n;
    } else if (star !== -1) {
      g = star + 1;
      n = ++mark;
    } else return false;
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}

/** The wire error for an OpenDeny: `code`, `message`, `hint`, `detail: {reason}`. */
export function denialError(d: OpenDeny): SesameError {
  return new SesameError(d.code, d.message, { hint: d.hint, detail: { reason: d.reason } });
}

function viewOf(caller: Caller, policy: Policy): View {
  const projects: (readonly string[])[] = [];
  const keyGlobs: (readonly string[])[] = [];
  const add = (s: { projects?: readonly string[] | undefined; keys?: readonly string[] | undefined }): void => {
    if (s.projects) projects.push(s.projects);
    if (s.keys) keyGlobs.push(s.keys);
  };
  if (caller.listener.kind === 'profile') add(profileOf(caller, policy) ?? { projects: [], keys: [] });
  if (caller.listener.kind === 'cell') add(cellScope(caller, policy));
  if (caller.token) add(caller.token.scope);
  return Object.freeze({ projects, keyGlobs });
}

/** A cell's view: the first rule matching its id when `cells.toml` has rules (none: nothing), else the cell policy's. */
function cellScope(caller: Caller, policy: Policy): { projects: readonly string[]; keys: readonly string[] } {
  const cells = policy.cells;
  if (!cells) return { projects: [], keys: [] };
  if (!cells.rules) return cells;
  const id = caller.cell?.id;
  return (id === undefined ? undefined : cells.rules.find((r) => matchKeyGlob(r.id, id))) ?? { projects: [], keys: [] };
}

/** The first `cells.toml` rule matching cell `id`, if any. Pure. */
export function cellRuleFor(policy: Policy, id: string): CellRule | undefined {
  return policy.cells?.rules?.find((r) => matchKeyGlob(r.id, id));
}

function profileOf(caller: Caller, policy: Policy): ProfilePolicy | undefined {
  return caller.listener.name === undefined ? undefined : policy.profiles.get(caller.listener.name);
}

function tokenRequired(caller: Caller, policy: Policy): boolean {
  if (caller.listener.kind === 'owner') return policy.requireToken;
  if (caller.listener.kind === 'profile') return profileOf(caller, policy)?.requireToken ?? true;
  return false;
}

function peerAllowed(rule: PeerRule, uid: number, agentUid: number): boolean {
  if (rule === 'same-uid') return uid === agentUid;
  if (rule === 'any') return true;
  return rule.includes(uid);
}

function unrestricted(s: Scope): boolean {
  return s.projects === undefined && s.keys === undefined && s.ops === undefined;
}
