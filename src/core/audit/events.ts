/**
 * The audit log's event vocabulary: one table, one row per event a record may carry
 * (docs/spec/audit-log.md, "Events"). Everything else about an event is derived from it:
 * which events are reads (not fsync'd one by one: log.ts READ_EVENTS), which always carry the
 * vault key (an unkeyed one after keyed records is a forgery: verify.ts KEYED_EVENTS).
 *
 * A feature that records a new event adds its row here (and, in the same change, the action
 * that produces it to test/e2e/audit-events.test.ts, removing `pending`). The table-driven
 * test fails for a row with neither an action nor a `pending` mark, and a unit test fails for
 * an `event: '…'` literal in src/ that has no row.
 */

/** Whether records of an event carry the MAC: always (the writer always holds the vault key), never, or depending on the path. */
export type Keyed = 'always' | 'never' | 'path';

/** The optional record fields an event fills (record.ts; `reason` is listed when it names a variant or a cause). */
export type EventField = 'reason' | 'project' | 'keys' | 'peer' | 'request' | 'argv_hash' | 'command' | 'masked';

/** One row of the vocabulary. */
export interface EventSpec {
  /** `always`: every path that writes it holds the vault key (joins KEYED_EVENTS); `never`; `path`: keyed on some paths only. */
  readonly keyed: Keyed;
  /** A read: its record is not fdatasync'd one by one (see "Durability" in the spec). */
  readonly read: boolean;
  /** Who writes it: the CLI, the agent, or both. */
  readonly writer: 'cli' | 'agent' | 'both';
  /** The fields its records carry besides the fixed ones (v, seq, prev, time, event, outcome, via, mac). */
  readonly fields: readonly EventField[];
  /** The reason codes it may carry (variants or causes); empty when it carries none. */
  readonly reasons: readonly string[];
  /** What it records, for the spec. */
  readonly what: string;
  /** Set while the feature that writes it lives on another branch: that branch's name. */
  readonly pending?: string;
}

const row = (keyed: Keyed, read: boolean, writer: EventSpec['writer'], fields: readonly EventField[], reasons: readonly string[], what: string, pending?: string): EventSpec =>
  Object.freeze({ keyed, read, writer, fields: Object.freeze([...fields]), reasons: Object.freeze([...reasons]), what, ...(pending === undefined ? {} : { pending }) });

const READ_FIELDS: readonly EventField[] = ['reason', 'project', 'keys', 'peer', 'request'];
const WRITE_FIELDS: readonly EventField[] = ['reason', 'project', 'keys', 'peer', 'request'];

/**
 * The vocabulary: event name → how it is keyed, whether it is a read, who writes it, its
 * fields and reason codes. Frozen; the single source for READ_EVENTS, KEYED_EVENTS, the
 * spec's table and the table-driven test.
 */
export const EVENTS: Readonly<Record<string, EventSpec>> = Object.freeze({
  init: row('never', false, 'cli', ['reason', 'peer'], ['replaced'], 'a vault was made (`replaced`: by `init --force`)'),
  unlock: row('never', false, 'cli', ['reason', 'peer'], ['<tier>', 'wrong_passphrase', '<error code>'], 'an unlock: ok with the tier that gave the passphrase, or denied/error with why'),
  lock: row('never', false, 'cli', ['reason', 'peer'], ['agent_stopped', 'no_agent'], '`lock`: the agent was stopped, or none ran'),
  passphrase: row('never', false, 'cli', ['reason', 'peer'], ['seal', 'to_keyring', 'acknowledge', 'destroy', 'change', 'reveal'], 'a passphrase-tier change, or the passphrase shown (`reveal`)'),
  set: row('always', false, 'both', WRITE_FIELDS, ['added', 'updated', '<error code>'], 'a value stored (the name only; the CLI direct or an agent with `--writes`)'),
  rm: row('always', false, 'both', WRITE_FIELDS, ['removed', 'deleted', '<error code>'], 'a value removed (`removed`: kept in history; `deleted`: no history kept)'),
  import: row('always', false, 'both', WRITE_FIELDS, ['imported', '<error code>'], 'values imported (the names added or overwritten; the CLI direct or an agent with `--writes`)'),
  rollback: row('always', false, 'both', WRITE_FIELDS, ['rolled_back', '<error code>'], '`rollback`: an earlier version made current again'),
  restore: row('always', false, 'both', WRITE_FIELDS, ['restored', '<error code>'], '`restore KEY`: a removed key brought back'),
  purge: row('always', false, 'both', WRITE_FIELDS, ['purged', '<error code>'], '`purge KEY`: a removed key erased for good'),
  mv: row('always', false, 'both', WRITE_FIELDS, ['created', 'replaced', '<error code>'], '`mv KEY NEW`: a key renamed (both names)'),
  cp: row('always', false, 'both', WRITE_FIELDS, ['created', 'replaced', '<error code>'], '`cp KEY --to-project P`: a key copied (both names)'),
  project_rename: row('always', false, 'both', ['reason', 'project', 'peer', 'request'], ['renamed', '<error code>'], '`projects rename OLD NEW` (the old name)'),
  project_create: row('always', false, 'cli', ['project', 'peer'], [], '`projects create`'),
  project_delete: row('always', false, 'cli', ['project', 'peer'], [], '`projects delete` (with its secrets)'),
  backup_restore: row('never', false, 'cli', ['peer'], [], '`backup restore FILE`: the vault replaced by a backup (unkeyed: the record follows the replacement, whose key this process never opened)'),
  get: row(
    'always',
    true,
    'both',
    READ_FIELDS,
    ['<deny reason>', 'not_found', 'cancelled', 'audit_unavailable'],
    'one value read (`get`; the CLI direct or through the agent; an admitted cell `resolve` is a `get` via `cell:ID`)',
  ),
  getselected: row('always', true, 'both', READ_FIELDS, ['<deny reason>', 'not_found', 'cancelled', 'audit_unavailable'], 'a selection of values read (`env`, `run`)'),
  list: row('path', true, 'both', READ_FIELDS, ['<deny reason>'], 'names listed: keyed through the agent, unkeyed on the direct path (it never unlocks)'),
  request: row(
    'always',
    false,
    'agent',
    READ_FIELDS,
    ['<deny reason>'],
    'a request the agent refused before any op ran whose op records no event of its own (stop, status, check, an unknown op): denied only',
  ),
  connect: row('always', false, 'agent', ['reason', 'peer'], ['peer', 'listener'], 'a connection the agent refused on accept (denied only)'),
  agent_start: row('always', false, 'agent', ['reason', 'peer'], ['audit_off'], 'the agent is listening (a keyed checkpoint)'),
  agent_stop: row('always', false, 'agent', ['reason', 'peer'], ['stop', 'idle', 'ttl', 'signal:<name>', 'crash', 'socket_removed'], 'the agent stops, with why (a keyed checkpoint)'),
  policy_reload: row('always', false, 'agent', ['reason', 'peer'], ['sighup', 'failed'], 'profiles and tokens reloaded (SIGHUP): ok, or error and the old policy kept'),
  token_mint: row('never', false, 'cli', ['reason', 'peer'], ['token:<id8>'], '`token new` (the id, never the token; token commands never unlock)'),
  token_revoke: row('never', false, 'cli', ['reason', 'peer'], ['token:<id8>'], '`token revoke`'),
  exec: row(
    'always',
    true,
    'agent',
    [...READ_FIELDS, 'argv_hash', 'command'],
    ['<deny reason>', 'not_found', 'approval', 'cancelled', '<program refusal>'],
    'a command about to run with secrets injected: the names, the resolved program, argv as a hash (`check` records nothing: it reads no value)',
  ),
  exec_exit: row(
    'always',
    true,
    'agent',
    ['reason', 'project', 'keys', 'peer', 'request', 'argv_hash', 'command', 'masked'],
    ['exit:<n>', 'signal:<name>'],
    "an exec's end: how it ended and the masked hits per key name (counts only)",
  ),
  fd: row('always', true, 'agent', READ_FIELDS, ['secret', 'sealed', 'not_delivered'], 'a value delivered as a file descriptor (`getfd`, after its `get` record; `not_delivered`: closed unsent)'),
  evict: row('always', false, 'agent', ['reason', 'project', 'peer'], ['idle'], "a project's key wiped after `--evict-after` without use"),
  approval_request: row('always', false, 'agent', READ_FIELDS, ['approval_pending', 'approval_rate'], 'an approval asked of the owner (denied: one already pending, or too many asked)'),
  approval_grant: row('always', false, 'agent', READ_FIELDS, ['<mode>'], 'an approval granted'),
  approval_deny: row('always', false, 'agent', READ_FIELDS, ['approval_denied'], 'an approval denied'),
  approval_expire: row('always', false, 'agent', READ_FIELDS, ['approval_timeout'], 'an approval that timed out'),
  approval_withdrawn: row('always', false, 'agent', READ_FIELDS, ['cancelled'], 'an approval withdrawn: the asking client left before an answer'),
  grant_revoke: row('always', false, 'agent', READ_FIELDS, [], 'a standing grant revoked by the owner (`approve --revoke`)'),
  cell_register: row('always', false, 'agent', ['reason', 'peer'], [], 'a cell registered (its first resolve)'),
  cell_resolve: row('always', false, 'agent', ['reason', 'project', 'keys', 'peer'], ['<deny reason>'], 'a cell resolve refused (denied only; an admitted one is the `get` via `cell:ID`)'),
  cell_revoke: row('always', false, 'agent', ['reason', 'peer'], ['already_revoked'], 'a cell revoked by the owner'),
  cell_forget: row('always', false, 'agent', ['reason', 'peer'], [], 'a revoked cell forgotten by the owner'),
});

/** The names of the events whose spec satisfies `pred`. */
function names(pred: (s: EventSpec) => boolean): ReadonlySet<string> {
  return new Set(Object.entries(EVENTS).flatMap(([n, s]) => (pred(s) ? [n] : [])));
}

/** Events that only read: not fsync'd one by one (derived from EVENTS). */
export const READ_EVENT_NAMES: ReadonlySet<string> = names((s) => s.read);

/** Events every writer of which holds the vault key: an unkeyed one after keyed records is a forgery (derived from EVENTS). */
export const KEYED_EVENT_NAMES: ReadonlySet<string> = names((s) => s.keyed === 'always');
