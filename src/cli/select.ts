/** The --only / --prefix / --strict options shared by env and run. */
import { SesameError } from '../core/errors.js';
import { type ResolvedProject } from '../core/paths.js';
import { checkKeyName } from '../core/names.js';
import type { FlagSpec, Parsed } from './args.js';
import type { Selection } from '../core/vault/vault.js';
import { warn } from './output.js';
import type { SecretReader } from './secret-reader.js';

export const SELECT_FLAGS: FlagSpec = {
  only: { type: 'string', arg: 'K1,K2', help: 'only these keys' },
  prefix: { type: 'string', arg: 'P', help: 'only keys whose names start with P' },
  strict: { type: 'boolean', help: 'fail (exit 4) if an --only key is missing, before anything runs' },
  exclude: { type: 'string', arg: 'K1,K2', repeatable: true, help: 'leave these keys out (they are not read)' },
};

/**
 * The selection with --exclude applied before anything is read: with --only, those names
 * less the excluded; without, every name of the project (the vault's public metadata, no
 * key needed; `names`) less the excluded. An excluded key is never decrypted nor audited
 * as read. Without `names` (the vault file cannot be read here) the excluded keys are
 * dropped, and wiped, after the read.
 */
function excludeNames(flags: Parsed['flags']): string[] {
  return typeof flags.exclude === 'string' ? flags.exclude.split(',').map((s) => checkKeyName(s.trim())) : [];
}

export function selection(flags: Parsed['flags']): Selection {
  const sel: Selection = {};
  if (typeof flags.only === 'string') sel.only = flags.only.split(',').map((s) => checkKeyName(s.trim()));
  if (typeof flags.prefix === 'string') sel.prefix = flags.prefix;
  return sel;
}

/**
 * `flags` with a `.sesame.toml`'s `only`/`prefix` filled in: only when that file chose the
 * project (not -p or SESAME_PROJECT) and the command line gives neither --only nor --prefix.
 */
export function withDirSelection(flags: Parsed['flags'], p: ResolvedProject): Parsed['flags'] {
  if (p.source !== 'directory' || flags.only !== undefined || flags.prefix !== undefined) return flags;
  return { ...flags, ...(p.only ? { only: p.only.join(',') } : {}), ...(p.prefix !== undefined ? { prefix: p.prefix } : {}) };
}

/** Reads the selection (less --exclude, see excludeNames; `names` are the project's keys when known); enforces --strict; warns about missing keys otherwise. */
export async function readSelection(reader: SecretReader, project: string, flags: Parsed['flags'], names?: readonly string[]): Promise<Array<[string, Buffer]>> {
  const excluded = new Set(excludeNames(flags));
  const sel = selection(flags);
  if (excluded.size && (sel.only || names)) sel.only = (sel.only ?? [...names!]).filter((k) => !excluded.has(k));
  const got = await reader.getSelected(project, sel);
  const secrets = got.secrets.filter(([k, v]) => {
    if (!excluded.has(k)) return true;
    v.fill(0);
    return false;
  });
  const missing = got.missing;
  if (missing.length) {
    if (flags.strict) {
      for (const [, v] of secrets) v.fill(0);
      throw new SesameError('NOT_FOUND', `missing in project ${project}: ${missing.join(', ')}`, { detail: { missing, project }, hint: 'set them with `sesame set KEY`, or drop --strict' });
    }
    warn(`missing in project ${project}: ${missing.join(', ')}`);
  }
  return secrets;
}

/**
 * The selection a run through the agent's `exec` sends (run-remote.ts), decided as
 * readSelection decides a local run's, before anything runs: --only less --exclude; with
 * --exclude and no --only, the names the caller may see (`visible`) less the excluded, so an
 * excluded key is never decrypted nor injected; an --only key the caller cannot see (absent,
 * out of scope, or outside --prefix) fails with --strict (NOT_FOUND, exit 4), else is warned
 * about. `visible` (names starting with --prefix, never values) is asked only when --only or
 * --exclude is given; when it gives null (the names cannot be had here), --exclude without
 * --only and --strict are refused (DENIED) rather than run with keys the user left out or
 * missing ones unreported.
 */
export async function execSelection(project: string, flags: Parsed['flags'], visible: () => Promise<readonly string[] | null>): Promise<Selection> {
  const excluded = new Set(excludeNames(flags));
  const sel = selection(flags);
  if (!sel.only && !excluded.size) return sel;
  const seen = await visible();
  const cannot = (what: string, hint: string): SesameError =>
    new SesameError('DENIED', `cannot honour ${what} through the agent's exec: it does not list this caller's key names`, { hint, detail: { reason: 'names_unavailable' } });
  if (sel.only) {
    if (seen) {
      const have = new Set(seen);
      const missing = [...new Set(sel.only)].filter((k) => (sel.prefix === undefined || k.startsWith(sel.prefix)) && !have.has(k));
      if (missing.length) {
        if (flags.strict)
          throw new SesameError('NOT_FOUND', `missing in project ${project}: ${missing.join(', ')}`, { detail: { missing, project }, hint: 'set them with `sesame set KEY`, or drop --strict' });
        warn(`missing in project ${project}: ${missing.join(', ')}`);
      }
    } else if (flags.strict) throw cannot('--strict', 'drop --strict, or ask for a token or profile that allows `list`');
    if (excluded.size) sel.only = sel.only.filter((k) => !excluded.has(k));
    return sel;
  }
  if (!seen) throw cannot('--exclude', 'name the keys to inject with --only instead');
  sel.only = seen.filter((k) => !excluded.has(k));
  return sel;
}

/**
 * Checks every secret against `write` (a format's line writer, or the child-environment
 * rule) and refuses, naming EVERY key it cannot carry and why, with the --exclude that lets
 * the user proceed. Wipes the secrets when it refuses; what `write` returns is wiped.
 */
export function requireCarried(secrets: Array<[string, Buffer]>, what: string, write: (k: string, v: Buffer) => Buffer | Buffer[]): void {
  const bad: Array<[string, string, string | undefined]> = [];
  for (const [k, v] of secrets) {
    try {
      const r = write(k, v);
      for (const b of Array.isArray(r) ? r : [r]) b.fill(0);
    } catch (e) {
      if (!(e instanceof SesameError) || e.code !== 'INVALID') throw e;
      bad.push([k, e.message, e.hint]);
    }
  }
  if (!bad.length) return;
  for (const [, v] of secrets) v.fill(0);
  const names = bad.map(([k]) => k);
  const fixes = [...new Set(bad.map(([, , h]) => h).filter((h): h is string => h !== undefined))];
  throw new SesameError('INVALID', `${what} cannot carry the value${names.length > 1 ? 's' : ''} of ${names.join(', ')}: ${bad.map(([, m]) => m).join('; ')}`, {
    hint: [...fixes, `leave ${names.length > 1 ? 'them' : 'it'} out with --exclude ${names.join(',')}${what.includes('format') ? ', or choose another --format' : ''}`].join('; or '),
    detail: { keys: names },
  });
}
