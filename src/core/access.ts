/**
 * THE plaintext door: the only module that turns (who asks, what they ask) into plaintext.
 * The agent's ops and the CLI's direct reads both come here; test/unit/access-layer.test.ts
 * fails if any other module of src/ reaches the vault's decrypting method (`DECRYPT`).
 *
 * Every read runs the same steps, in this order:
 *   1. authorize   `authorize(caller, request, policy)` (pure, src/core/policy/authorize.ts).
 *                  An open refusal throws its DENIED/PROTOCOL error before the vault is
 *                  looked at; a hidden one is answered on the vault with the vault's own
 *                  NOT_FOUND (`projectNotFound`/`keyNotFound`) after the same lookups a
 *                  nonexistent name causes: OUT OF SCOPE LOOKS EXACTLY LIKE NONEXISTENT.
 *   2. select      names and metadata only (`select`, `list`), then `authorizeKeys`: a name
 *                  the caller may not see is reported exactly as a missing one.
 *   3. approve     `hooks.approve(caller, what)` for the names about to be decrypted (may
 *                  wait; throws DENIED to refuse). No-op until approvals land (issue 11).
 *   4. audit       `hooks.audit(event)`: names and outcome, never values. A throwing audit
 *                  hook fails the read closed. No-op until the audit log lands (issue 12).
 *   5. decrypt     exactly the allowed names (`UnlockedVault[DECRYPT]`), in the same
 *                  synchronous step as a last check of `signal`: a request cancelled at any
 *                  point before decrypts nothing.
 *
 * Values come back in Buffers off V8's movable heap (libsodium's output, see sodium.ts
 * `open`); the caller wipes them. On every failure path this module wipes what it decrypted.
 *
 * Security caveats: an approval may wait, so steps 2 and 5 then run on two looks at the
 * vault; a key removed in between is reported missing (never decrypted from a stale copy),
 * a key added in between is not part of the request. The policy is the snapshot in the
 * context: a reload during an approval does not change the decision already made.
 */
import { SesameError } from './errors.js';
import { authorize, authorizeKeys, denialError, ownerOnlyPolicy, visibleProjects, type AuthRequest, type DenyReason, type HiddenDeny, type Policy } from './policy/authorize.js';
import { callerFromPeer, type Caller } from './policy/caller.js';
import { DECRYPT, keyNotFound, projectNotFound, type EntryInfo, type Selection, type UnlockedVault } from './vault/vault.js';

/** Lends the current vault to a synchronous function. VaultKeeper satisfies it; `vaultSource` wraps a directly unlocked vault. */
export interface VaultSource {
  with<T>(fn: (v: UnlockedVault) => T): T;
}

/** The read ops this door serves (`exec`: values injected into a child's environment, never shown). */
export type AccessOp = 'get' | 'getselected' | 'list' | 'exec';

/** What a caller is about to be shown: the op, the project and the key names (never values). */
export interface AccessWhat {
  readonly op: AccessOp;
  readonly project: string | undefined;
  /** The names that will be decrypted (get, getselected, exec); empty for list. */
  readonly keys: readonly string[];
  /** exec: the absolute real path of the program about to run. */
  readonly command?: string;
  /** exec: `argvHash` of its argv (audit/record.ts); argv itself never reaches the door's hooks. */
  readonly argvHash?: string;
}

/**
 * One access, for the audit. `allow`: `keys` are about to be decrypted (or, for list, names
 * shown); `deny`: refused by policy (`reason`) or by the approval hook (`approval`);
 * `cancelled`: the request was cancelled after it was allowed and before anything was
 * decrypted. Names and metadata only: never a value, never a token.
 */
export interface AccessEvent extends AccessWhat {
  readonly caller: Caller;
  readonly outcome: 'allow' | 'deny' | 'cancelled';
  /** Why it was refused: the policy's reason, `approval`, or `not_found` (the name does not exist). */
  readonly reason?: DenyReason | 'approval' | 'not_found';
  /** Names out of the caller's view that it asked for or would have seen; it was told they do not exist. */
  readonly hidden?: readonly string[];
  /** Names the caller is told do not exist (`getselected`'s `missing`; hidden ones included). */
  readonly missing?: readonly string[];
  /** The request's id as the client sent it (v2), for the audit record; absent on v1 and the direct path. */
  readonly request?: string;
  /** exec's end (`exec_exit`): `exit:N` or `signal:name`, and the masked hits per key name. */
  readonly exit?: string;
  readonly masked?: Readonly<Record<string, number>>;
  /** The request's declared client (AccessContext `client`), for the audit record only. */
  readonly client?: ClientLabel;
}

/**
 * The program a request says relayed it (a v2 request's `client`, e.g. an MCP server and its
 * own client's name and version): a LABEL for the audit record, never an identity. No policy
 * decision reads it; `caller` (the kernel's peer, the listener, the token) is who asks.
 */
export interface ClientLabel {
  readonly via: 'mcp';
  readonly name: string;
  readonly version: string;
}

/** What an approval wait announces to the caller (the v2 `pending` frame's detail). Never secret. */
export interface PendingNotice {
  readonly approval_id: string;
  readonly expires_in_s: number;
}

/** The waiting side of one read, as the approval hook sees it: its cancellation and where to announce a wait. */
export interface ApprovalWait {
  readonly signal?: AbortSignal;
  notify?(n: PendingNotice): void;
}

/** The approval and audit seams. Both optional; both see names only. */
export interface AccessHooks {
  /**
   * Resolves to go ahead; throws (DENIED) to refuse. Runs after authorize and the name
   * selection, before the audit and the decrypt; not asked when nothing would be decrypted
   * (every name missing or hidden) nor for `list`. May wait: the request's `signal` is
   * checked again after it.
   */
  approve?(caller: Caller, what: AccessWhat, wait?: ApprovalWait): Promise<void>;
  /** Records an access. Synchronous; a throw fails the read (nothing is decrypted). */
  audit?(event: AccessEvent): void;
}

/** Who asks, under which policy snapshot, with which hooks; `signal` cancels the request. */
export interface AccessContext {
  readonly caller: Caller;
  readonly policy: Policy;
  readonly hooks?: AccessHooks;
  readonly signal?: AbortSignal;
  /** The request carried a token (verified or not; the verified one is `caller.token`). */
  readonly tokenPresented?: boolean;
  /** The request's id (v2), passed to the audit hook as it is; the hook checks its shape. */
  readonly request?: string;
  /** Announces an approval wait to the caller (v2: a `pending` frame); absent: the caller just waits. */
  readonly notify?: (n: PendingNotice) => void;
  /** The client the request declared (v2 `client`): passed to the audit hook as a label; never read by a decision. */
  readonly client?: ClientLabel;
}

/** One project of a `list` answer (docs/spec/agent-protocol.md, `list`): names and metadata, never values. */
export interface ListedProject {
  name: string;
  keys: EntryInfo[];
}

/** The `list` answer: the projects the caller may see, in byte order. A fresh object the caller owns. */
export interface ListResult {
  projects: ListedProject[];
}

/** A directly unlocked vault as a VaultSource (the CLI's direct reads). */
export function vaultSource(v: UnlockedVault): VaultSource {
  return { with: (fn) => fn(v) };
}

/**
 * The context for this process reading its own vault directly (the CLI without an agent):
 * the owner (uid, gid, pid of this process; kind `owner`, via `cli`) under the owner-only
 * policy. Reads /proc once (start time, executable). Never throws.
 */
export function directContext(): AccessContext {
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  const gid = typeof process.getgid === 'function' ? process.getgid() : -1;
  const caller = callerFromPeer({ uid, gid, pid: process.pid }, { kind: 'owner', via: 'cli' });
  return { caller, policy: ownerOnlyPolicy(uid) };
}

/**
 * One value. NOT_FOUND exactly as the vault words it when the project or key does not
 * exist or is out of the caller's view; DENIED (or PROTOCOL) for an open refusal; the
 * approval hook's error; UNAVAILABLE when `signal` was aborted. The caller wipes the Buffer.
 */
export async function readOne(ctx: AccessContext, src: VaultSource, project: string, key: string): Promise<Buffer> {
  return run(ctx, src, planOne(ctx, project, key));
}

/**
 * One earlier value: version `version` of `key` as its history keeps it (or the current value
 * when `version` is the current one). Same steps and errors as `readOne`; NOT_FOUND
 * (vault.ts `versionNotFound`) when the history does not hold that version. The caller wipes it.
 */
export async function readVersion(ctx: AccessContext, src: VaultSource, project: string, key: string, version: number): Promise<Buffer> {
  return run(ctx, src, planOne(ctx, project, key, version));
}

/**
 * The synchronous form of `readOne`, for callers that cannot wait (tests and their helpers;
 * the agent and the CLI use `readOne`).
 * Refuses (ERROR) a context with an approval hook, so an approval can never be skipped.
 */
export function readOneNow(ctx: AccessContext, src: VaultSource, project: string, key: string): Buffer {
  return runNow(ctx, src, planOne(ctx, project, key));
}

/**
 * A selection (`only` names, `prefix`), as `getselected`: with `only`, present names in
 * request order, and `missing` holds the absent AND the out-of-view ones in request order;
 * without `only`, every visible key in byte order (out-of-view ones simply absent). A key
 * the caller may not see is never decrypted. Errors as `readOne`. The caller wipes the values.
 */
export async function readSelected(ctx: AccessContext, src: VaultSource, project: string, sel: Selection): Promise<Selected> {
  return run(ctx, src, planSelected(ctx, project, sel));
}

/**
 * The values an exec injects: a selection exactly as `readSelected` (same names decided the
 * same way before anything is decrypted, same errors), under op `exec` — so authorize
 * applies the `exec` scope and a non-revealing profile may use it — with the program's real
 * path and argv hash in what the approval and audit hooks see. The caller wipes the values.
 */
export async function readForExec(ctx: AccessContext, src: VaultSource, project: string, sel: Selection, exec: { command: string; argvHash: string }): Promise<Selected> {
  return run(ctx, src, planSelected(ctx, project, sel, { op: 'exec', ...exec }));
}

/**
 * Refuses an exec for a reason of its own (`not_allowed_command`, `not_found`…): authorize
 * first (an open refusal or a project out of view answers as for any read: a hidden project
 * is NOT_FOUND exactly as a nonexistent one), then the refusal is audited (event `exec`,
 * denied, with the program's real path when known) and `error` thrown. Decrypts nothing.
 */
export async function refuseExec(ctx: AccessContext, src: VaultSource, project: string, exec: { command?: string; argvHash: string; reason: string }, error: SesameError): Promise<never> {
  return Promise.resolve().then(() => {
    const what: AccessWhat = Object.freeze({ op: 'exec', project, keys: Object.freeze([]), argvHash: exec.argvHash, ...(exec.command === undefined ? {} : { command: exec.command }) });
    const hidden = gate(ctx, what);
    return src.with((v) => {
      if (hidden) answerHidden(ctx, v, what, hidden);
      if (!v.hasProject(project)) answerNotFound(ctx, v, what, project);
      audit(ctx, { ...what, outcome: 'deny', reason: exec.reason as DenyReason });
      throw error;
    });
  });
}

/**
 * Records the end of an exec (`exec_exit`): how it ended and the masked hits per key (names
 * and counts, never values). Never throws (the exec has already run).
 */
export function execEnded(
  ctx: AccessContext,
  project: string,
  exec: { command: string; argvHash: string; keys: readonly string[] },
  end: { exit: string; masked: Readonly<Record<string, number>> },
): void {
  try {
    audit(ctx, { op: 'exec', project, keys: exec.keys, command: exec.command, argvHash: exec.argvHash, outcome: 'allow', exit: end.exit, masked: end.masked });
  } catch {
    /* recorded or not, the exec is over */
  }
}

/** The synchronous form of `readSelected`; refuses (ERROR) a context with an approval hook. */
export function readSelectedNow(ctx: AccessContext, src: VaultSource, project: string, sel: Selection): Selected {
  return runNow(ctx, src, planSelected(ctx, project, sel));
}

/** What `readSelected` answers: the values (the caller wipes them) and the names reported missing. */
export interface Selected {
  secrets: Array<[string, Buffer]>;
  missing: string[];
}

/**
 * Names and metadata (never values) of what the caller may see (the `list` op): every
 * visible project, or only `project` (NOT_FOUND `project P does not exist` when it does not
 * exist or is out of view), each with its visible keys starting with `prefix`, in byte
 * order. Decrypts nothing; runs authorize and the audit hook, not the approval hook.
 */
export async function listVisible(ctx: AccessContext, src: VaultSource, project: string | undefined, prefix?: string): Promise<ListResult> {
  return Promise.resolve().then(() => listVisibleNow(ctx, src, project, prefix));
}

/** The synchronous form of `listVisible`. */
function listVisibleNow(ctx: AccessContext, src: VaultSource, project: string | undefined, prefix?: string): ListResult {
  const what: AccessWhat = Object.freeze({ op: 'list', project, keys: Object.freeze([]) });
  const hidden = gate(ctx, what);
  return src.with((v) => {
    if (hidden) answerHidden(ctx, v, what, hidden);
    if (project !== undefined && !v.hasProject(project)) answerNotFound(ctx, v, what, project);
    const names = project === undefined ? visibleProjects(ctx.caller, v.projectNames(), ctx.policy) : [project];
    const projects = names.map((name): ListedProject => {
      const infos = v.list(name).filter((e) => prefix === undefined || e.key.startsWith(prefix));
      const shown = new Set(
        authorizeKeys(
          ctx.caller,
          name,
          infos.map((e) => e.key),
          ctx.policy,
        ).visible,
      );
      return { name, keys: infos.filter((e) => shown.has(e.key)) };
    });
    audit(ctx, { ...what, outcome: 'allow' });
    return { projects };
  });
}

// ---- the steps ----

/** A read after steps 1–2: the names to decrypt, and how to build the answer. */
interface Read<T> {
  readonly what: AccessWhat;
  readonly hidden: readonly string[];
  readonly missing: readonly string[];
  /** An earlier version to decrypt instead of the current value (readVersion). */
  readonly version?: number;
  /** Builds the answer from what step 5 decrypted (`gone`: names no longer in the vault). */
  answer(secrets: Array<[string, Buffer]>, gone: readonly string[]): T;
}

/** The asynchronous door: one look at the vault when there is nothing to approve, two around an approval. */
async function run<T>(ctx: AccessContext, src: VaultSource, start: (v: UnlockedVault) => Read<T>): Promise<T> {
  if (!ctx.hooks?.approve) return src.with((v) => finish(ctx, v, start(v)));
  cancelled(ctx);
  const read = src.with(start);
  if (read.what.keys.length) await approve(ctx, read);
  return src.with((v) => finish(ctx, v, read));
}

function runNow<T>(ctx: AccessContext, src: VaultSource, start: (v: UnlockedVault) => Read<T>): T {
  if (ctx.hooks?.approve) throw new SesameError('ERROR', 'internal: a read that needs approval must use the asynchronous door');
  return src.with((v) => finish(ctx, v, start(v)));
}

/** Step 1 for `get` (open refusals thrown here, before the vault is looked at); the rest runs on the vault. */
function planOne(ctx: AccessContext, project: string, key: string, version?: number): (v: UnlockedVault) => Read<Buffer> {
  const what: AccessWhat = Object.freeze({ op: 'get', project, keys: Object.freeze([key]) });
  const hidden = gate(ctx, what, key);
  return (v) => {
    if (hidden) answerHidden(ctx, v, what, hidden);
    const read = startOne(ctx, v, what, project, key);
    return version === undefined ? read : { ...read, version };
  };
}

function startOne(ctx: AccessContext, v: UnlockedVault, what: AccessWhat, project: string, key: string): Read<Buffer> {
  if (!v.hasProject(project) || !v.select(project, { only: [key] }).present.length) answerNotFound(ctx, v, what, project, key);
  const answer = (secrets: Array<[string, Buffer]>): Buffer => {
    const hit = secrets[0];
    if (!hit) throw keyNotFound(project, key); // removed while an approval waited
    return hit[1];
  };
  return { what, hidden: [], missing: [], answer };
}

/** Step 1 for `getselected` (open refusals thrown here, before the vault is looked at); the rest runs on the vault. */
type SelectOp = { op: 'getselected' } | { op: 'exec'; command: string; argvHash: string };

function planSelected(ctx: AccessContext, project: string, sel: Selection, how: SelectOp = { op: 'getselected' }): (v: UnlockedVault) => Read<Selected> {
  const none: AccessWhat = Object.freeze({ ...how, project, keys: Object.freeze([]) });
  const hidden = gate(ctx, none);
  return (v) => {
    if (hidden) answerHidden(ctx, v, none, hidden);
    return startSelected(ctx, v, project, sel, how);
  };
}

function startSelected(ctx: AccessContext, v: UnlockedVault, project: string, sel: Selection, how: SelectOp): Read<Selected> {
  if (!v.hasProject(project)) answerNotFound(ctx, v, Object.freeze({ ...how, project, keys: Object.freeze([]) }), project);
  const inPrefix = (n: string): boolean => sel.prefix === undefined || n.startsWith(sel.prefix);
  const order = sel.only ? [...new Set(sel.only)].filter(inPrefix) : [];
  let keys: string[];
  let hidden: string[];
  let missing: string[] = [];
  if (sel.only) {
    // Names are decided before the vault is looked at; hidden ones are then missing, in request order.
    const split = authorizeKeys(ctx.caller, project, order, ctx.policy);
    const present = new Set(v.select(project, { only: split.visible }).present);
    keys = order.filter((n) => present.has(n));
    missing = order.filter((n) => !present.has(n));
    hidden = split.hidden;
  } else {
    const split = authorizeKeys(ctx.caller, project, v.select(project, sel.prefix === undefined ? {} : { prefix: sel.prefix }).present, ctx.policy);
    keys = split.visible;
    hidden = split.hidden;
  }
  const answer = (secrets: Array<[string, Buffer]>, gone: readonly string[]): Selected => {
    if (!gone.length) return { secrets, missing };
    // Keys removed while an approval waited are missing too (with `only`, in request order).
    const all = new Set([...missing, ...gone]);
    return { secrets, missing: order.filter((n) => all.has(n)) };
  };
  return { what: Object.freeze({ ...how, project, keys: Object.freeze(keys) }), hidden, missing, answer };
}

/**
 * Step 1: authorize. An open refusal is audited and thrown now, without looking at the vault.
 * A refusal on a name is returned, to be answered on the vault by `answerHidden` — so that a
 * vault that cannot be read (KEY_CHANGED, NOT_INITIALIZED…) answers a hidden name exactly as
 * it answers a nonexistent one.
 */
function gate(ctx: AccessContext, what: AccessWhat, key?: string): HiddenDeny | undefined {
  const d = authorize(ctx.caller, request(ctx, what, key), ctx.policy);
  if (d.allow) return undefined;
  if (d.hidden) return d;
  audit(ctx, { ...what, keys: [], outcome: 'deny', reason: d.reason });
  throw denialError(d);
}

/** Answers a hidden name exactly as a nonexistent one (`answerNotFound`); only the audit knows why. */
function answerHidden(ctx: AccessContext, v: UnlockedVault, what: AccessWhat, d: HiddenDeny): never {
  answerNotFound(ctx, v, what, d.notFound.project, d.notFound.key, d);
}

/**
 * The one answer to a name that does not exist for this caller — truly absent, or out of its
 * view (`hidden`): the same audit step (so a failing audit hook fails both alike), the same
 * lookups, and the vault's own error: the project's NOT_FOUND when the project is absent
 * (or the name is the project), else the key's.
 */
function answerNotFound(ctx: AccessContext, v: UnlockedVault, what: AccessWhat, project: string, key?: string, hidden?: HiddenDeny): never {
  const names = key === undefined ? {} : hidden ? { hidden: [key] } : { missing: [key] };
  audit(ctx, { ...what, keys: [], outcome: 'deny', reason: hidden ? hidden.reason : 'not_found', ...names });
  if (key === undefined || !v.hasProject(project)) throw projectNotFound(project);
  throw keyNotFound(project, key);
}

function request(ctx: AccessContext, what: AccessWhat, key?: string): AuthRequest {
  return { op: what.op, ...(what.project === undefined ? {} : { project: what.project }), ...(key === undefined ? {} : { key }), ...(ctx.tokenPresented ? { tokenPresented: true } : {}) };
}

/** Step 3: the approval hook; a refusal is audited and rethrown. */
async function approve<T>(ctx: AccessContext, read: Read<T>): Promise<void> {
  try {
    await ctx.hooks?.approve?.(ctx.caller, read.what, { ...(ctx.signal ? { signal: ctx.signal } : {}), ...(ctx.notify ? { notify: ctx.notify } : {}) });
  } catch (e) {
    audit(ctx, { ...read.what, outcome: 'deny', reason: 'approval' });
    throw e;
  }
}

/** Steps 4–5 in one synchronous run: nothing can cancel between the last check and the decrypt. */
function finish<T>(ctx: AccessContext, v: UnlockedVault, read: Read<T>): T {
  cancelled(ctx, read.what);
  audit(ctx, { ...read.what, outcome: 'allow', hidden: read.hidden, missing: read.missing });
  cancelled(ctx, read.what);
  if (!read.what.keys.length) return read.answer([], []);
  const { secrets, missing } = v[DECRYPT](read.what.project ?? '', read.what.keys, read.version);
  try {
    return read.answer(secrets, missing);
  } catch (e) {
    for (const [, b] of secrets) b.fill(0);
    throw e;
  }
}

/** Throws UNAVAILABLE (audited as `cancelled` when `what` is known) once the request was cancelled. */
function cancelled(ctx: AccessContext, what?: AccessWhat): void {
  if (!ctx.signal?.aborted) return;
  if (what) audit(ctx, { ...what, outcome: 'cancelled' });
  throw new SesameError('UNAVAILABLE', 'the request was cancelled before anything was decrypted', { hint: 'send it again' });
}

function audit(ctx: AccessContext, e: Omit<AccessEvent, 'caller'>): void {
  ctx.hooks?.audit?.(Object.freeze({ ...e, caller: ctx.caller, ...(ctx.request === undefined ? {} : { request: ctx.request }), ...(ctx.client === undefined ? {} : { client: ctx.client }) }));
}
