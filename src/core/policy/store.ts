/**
 * The policy in force, and how it is reloaded (SIGHUP). A PolicyStore holds one immutable
 * Policy snapshot (policy/authorize.ts). Requests take the snapshot once (`current()`) and
 * decide against it, so a reload never changes a decision half-way.
 *
 * The snapshot is built from a base (the agent's uid, `--require-token`) and a list of
 * loaders, one per policy source: the token file and the profiles directory (issue 9), the
 * cell policy (issue 11). None exists yet; production passes an empty list, and a reload is a
 * tested no-op path.
 *
 * Atomicity: `reload()` runs every loader; only if ALL succeed is the new snapshot swapped in
 * (one assignment). If any fails, the old snapshot stays in force, and the failure is
 * reported with the loader's file and the line it names (a loader throws a SesameError with
 * `detail: {file, line}`, or any error; the file is then the loader's). Loaders are
 * synchronous: the swap happens in one turn of the event loop, and the agent keeps serving
 * before and after it with one snapshot or the other, never a mix.
 */
import { SesameError } from '../errors.js';
import { ownerOnlyPolicy, type CellPolicy, type Policy, type ProfilePolicy, type TokenRecord } from './authorize.js';

/** What one loader contributes. Absent members contribute nothing. */
export interface PolicyPart {
  readonly tokens?: readonly TokenRecord[];
  readonly profiles?: ReadonlyMap<string, ProfilePolicy>;
  readonly cells?: CellPolicy;
}

/**
 * One policy source. `load()` reads `file` and returns its part, or throws: preferably a
 * SesameError whose `detail` has `file` and `line` (1-based) naming the bad line; never a
 * message holding a secret (a token line is named by its number, not its text).
 */
export interface PolicyLoader {
  readonly name: string;
  readonly file: string;
  load(): PolicyPart;
}

/** The outcome of a reload. */
export type ReloadResult = { readonly ok: true; readonly loaders: number } | { readonly ok: false; readonly file: string; readonly line: number | null; readonly reason: string };

/** Where a loader failed: the file and line it names (else the loader's file), and why. */
function failureOf(l: PolicyLoader, e: unknown): { file: string; line: number | null; reason: string } {
  const detail = e instanceof SesameError ? e.detail : undefined;
  const file = typeof detail?.file === 'string' ? detail.file : l.file;
  const line = typeof detail?.line === 'number' && Number.isSafeInteger(detail.line) && detail.line > 0 ? detail.line : null;
  const reason = e instanceof Error ? e.message : 'the loader failed';
  return { file, line, reason: printable(reason).slice(0, 300) };
}

/** `s` with every run of control characters (C0, DEL) turned into one space: a log line stays one line. */
function printable(s: string): string {
  let out = '';
  let inRun = false;
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    const control = c < 0x20 || c === 0x7f;
    if (!control) out += ch;
    else if (!inRun) out += ' ';
    inRun = control;
  }
  return out;
}

/**
 * Merges parts over the base. Two loaders naming the same profile, or both giving a cell
 * policy, is a configuration error (thrown, so the reload fails and the old policy stays).
 */
export function mergePolicy(base: Policy, parts: readonly { loader: PolicyLoader; part: PolicyPart }[]): Policy {
  const tokens: TokenRecord[] = [...base.tokens];
  const profiles = new Map<string, ProfilePolicy>(base.profiles);
  let cells = base.cells;
  for (const { loader, part } of parts) {
    tokens.push(...(part.tokens ?? []));
    for (const [name, p] of part.profiles ?? []) {
      if (profiles.has(name)) throw new SesameError('INVALID', `profile ${JSON.stringify(name)} is defined twice`, { detail: { file: loader.file } });
      profiles.set(name, Object.freeze(p));
    }
    if (part.cells) {
      if (cells) throw new SesameError('INVALID', 'the cell policy is defined twice', { detail: { file: loader.file } });
      cells = Object.freeze(part.cells);
    }
  }
  return Object.freeze({ agentUid: base.agentUid, requireToken: base.requireToken, tokens: Object.freeze(tokens), profiles, ...(cells ? { cells } : {}) });
}

/**
 * Holds the policy in force. Construct with `PolicyStore.open` (which loads once and throws
 * on a bad source: a bad file refuses start), then `reload()` on SIGHUP.
 */
export class PolicyStore {
  #current: Policy;
  readonly #base: Policy;
  readonly #loaders: readonly PolicyLoader[];

  private constructor(base: Policy, loaders: readonly PolicyLoader[], first: Policy) {
    this.#base = base;
    this.#loaders = loaders;
    this.#current = first;
  }

  /**
   * Builds the first snapshot. Throws what the failing loader threw, with its file and line
   * in the message (INVALID), so the agent refuses to start on a bad policy file.
   */
  static open(opts: { agentUid: number; requireToken?: boolean; loaders?: readonly PolicyLoader[]; tokens?: readonly TokenRecord[] }): PolicyStore {
    const base: Policy = Object.freeze({ ...ownerOnlyPolicy(opts.agentUid), requireToken: opts.requireToken ?? false, tokens: Object.freeze([...(opts.tokens ?? [])]) });
    const loaders = Object.freeze([...(opts.loaders ?? [])]);
    const store = new PolicyStore(base, loaders, base);
    const r = store.#build();
    if ('error' in r) {
      const where = r.error.line === null ? r.error.file : `${r.error.file}:${r.error.line}`;
      throw new SesameError('INVALID', `bad policy: ${where}: ${r.error.reason}`, {
        hint: 'fix that line (or remove the file), then start the agent again',
        detail: { file: r.error.file, ...(r.error.line === null ? {} : { line: r.error.line }) },
      });
    }
    store.#current = r.policy;
    return store;
  }

  /** The snapshot in force. Take it once per request. */
  current(): Policy {
    return this.#current;
  }

  /** How many loaders build the policy. */
  get loaders(): number {
    return this.#loaders.length;
  }

  /** Runs every loader; swaps the snapshot only if all succeeded. Never throws. */
  reload(): ReloadResult {
    const r = this.#build();
    if ('error' in r) return { ok: false, ...r.error };
    this.#current = r.policy;
    return { ok: true, loaders: this.#loaders.length };
  }

  #build(): { policy: Policy } | { error: { file: string; line: number | null; reason: string } } {
    const parts: { loader: PolicyLoader; part: PolicyPart }[] = [];
    for (const loader of this.#loaders) {
      try {
        parts.push({ loader, part: loader.load() });
      } catch (e) {
        return { error: failureOf(loader, e) };
      }
    }
    try {
      return { policy: mergePolicy(this.#base, parts) };
    } catch (e) {
      const last = parts.at(-1)?.loader ?? { name: 'merge', file: '(policy)', load: () => ({}) };
      return { error: failureOf(last, e) };
    }
  }
}

/** The agent-log line for a reload's outcome (never secret). */
export function reloadLogLine(r: ReloadResult): string {
  if (r.ok) return `policy reloaded (${r.loaders} loader${r.loaders === 1 ? '' : 's'})`;
  return `reload failed: ${r.file}${r.line === null ? '' : `:${r.line}`}: ${r.reason}; old policy kept`;
}
