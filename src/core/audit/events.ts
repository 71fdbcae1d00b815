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
export type EventField = 'reason' | 'project' | 'keys' | 'peer' | 'request' | 'argv_hash';

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
  set: row('always', false, 'cli', ['reason', 'project', 'keys', 'peer'], ['added', 'updated'], 'a value stored (the name only)'),
  rm: row('always', false, 'cli', ['project', 'keys', 'peer'], [], 'a value removed'),
  import: row('always', false, 'cli', ['project', 'keys', 'peer'], [], 'values imported (the names added or overwritten)'),
  rollback: row('always', false, 'both', ['reason', 'project', 'keys', 'peer'], ['<version>'], '`rollback`: an earlier version made current again', 'clidata merge'),
  restore: row('always', false, 'both', ['project', 'keys', 'peer'], [], '`restore KEY`: a removed key brought back', 'clidata merge'),
  purge: row('always', false, 'both', ['project', 'keys', 'peer'], [], '`purge KEY`: a removed key erased for good', 'clidata merge'),
  mv: row('always', false, 'both', ['reason', 'project', 'keys', 'peer'], [], '`mv KEY NEW`: a key renamed (both names)', 'clidata merge'),
  cp: row('always', false, 'both', ['reason', 'project', 'keys', 'peer'], [], '`cp KEY --to-project P`: a key copied', 'clidata merge'),
  project_rename: row('always', false, 'both', ['project', 'peer'], [], '`projects rename OLD NEW`', 'clidata merge'),
  project_create: row('always', false, 'cli', ['project', 'peer'], [], '`projects create`'),
  project_delete: row('always', false, 'cli', ['project', 'peer'], [], '`projects delete` (with its secrets)'),
  get: row('always', true, 'both', READ_FIELDS, ['<deny reason>', 'not_found', 'cancelled', 'audit_unavailable'], 'one value read (`get`; the CLI direct or through the agent)'),
  getselected: row('always', true, 'both', READ_FIELDS, ['<deny reason>', 'not_found', 'cancelled', 'audit_unavailable'], 'a selection of values read (`env`, `run`)'),
  list: row('path', true, 'both', READ_FIELDS, ['<deny reason>'], 'names listed: keyed through the agent, unkeyed on the direct path (it never unlocks)'),
  request: row(
    'always',
    false,
    'agent',
    READ_FIELDS,
    ['<deny reason>'],
    'a request the agent refused before any op ran whose op records no event of its own (stop, status, an unknown op): denied only',
  ),
  connect: row('always', false, 'agent', ['reason', 'peer'], ['peer', 'listener'], 'a connection the agent refused on accept (denied only)'),
  agent_start: row('always', false, 'agent', ['reason', 'peer'], ['audit_off'], 'the agent is listening (a keyed checkpoint)'),
  agent_stop: row('always', false, 'agent', ['reason', 'peer'], ['stop', 'idle', 'ttl', 'signal:<name>', 'crash', 'socket_removed'], 'the agent stops, with why (a keyed checkpoint)'),
  policy_reload: row('always', false, 'agent', ['reason', 'peer'], ['sighup', 'failed'], 'profiles and tokens reloaded (SIGHUP): ok, or error and the old policy kept'),
  token_mint: row('never', false, 'cli', ['reason', 'peer'], ['token:<id8>'], '`token new` (the id, never the token; token commands never unlock)'),
  token_revoke: row('never', false, 'cli', ['reason', 'peer'], ['token:<id8>'], '`token revoke`'),
  exec: row('always', true, 'agent', ['reason', 'project', 'keys', 'peer', 'request', 'argv_hash'], [], 'a command run with secrets injected (argv as a hash; masking hit counts)', 'exec'),
  resolve: row('always', true, 'agent', READ_FIELDS, [], 'references resolved to values', 'exec'),
  fd: row('always', true, 'agent', READ_FIELDS, [], 'a value delivered as a file descriptor', 'fdapi'),
  evict: row('always', false, 'agent', ['reason', 'peer'], [], 'a delivered descriptor evicted', 'fdapi'),
  approval_request: row('always', false, 'agent', READ_FIELDS, [], 'an approval asked of the owner', 'approvals'),
  approval_grant: row('always', false, 'agent', READ_FIELDS, [], 'an approval granted', 'approvals'),
  approval_deny: row('always', false, 'agent', READ_FIELDS, [], 'an approval denied', 'approvals'),
  approval_expire: row('always', false, 'agent', READ_FIELDS, [], 'an approval that timed out', 'approvals'),
  cell_register: row('always', false, 'agent', ['reason', 'peer'], [], 'a cell registered', 'cells (issue 11)'),
  cell_revoke: row('always', false, 'agent', ['reason', 'peer'], [], 'a cell revoked', 'cells (issue 11)'),
});

/** The names of the events whose spec satisfies `pred`. */
function names(pred: (s: EventSpec) => boolean): ReadonlySet<string> {
  return new Set(Object.entries(EVENTS).flatMap(([n, s]) => (pred(s) ? [n] : [])));
}

/** Events that only read: not fsync'd one by one (derived from EVENTS). */
export const READ_EVENT_NAMES: ReadonlySet<string> = names((s) => s.read);

/** Events every writer of which holds the vault key: an unkeyed one after keyed records is a forgery (derived from EVENTS). */
export const KEYED_EVENT_NAMES: ReadonlySet<string> = names((s) => s.keyed === 'always');
