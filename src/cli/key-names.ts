/**
 * Names before keys: a key or project that does not exist is reported from the vault's
 * public metadata (names are stored in the clear, docs/spec/vault-format.md) before any
 * passphrase is asked for or any key is derived, with "did you mean …". A hint only: the
 * file is not authenticated until it is unlocked, so a tampered file can at worst make a
 * name look missing (a refusal), never make a read succeed. Also the metadata `get --json`
 * reports (times, version, high-value), which needs no key either.
 */
import type { HomePaths } from '../core/paths.js';
import { SesameError } from '../core/errors.js';
import type { VaultDoc, EntryRecord } from '../core/vault/format.js';
import { didYouMean } from './suggest.js';

/** The vault document, or undefined when it cannot be read here (the real read then reports why). */
async function docOf(paths: HomePaths): Promise<VaultDoc | undefined> {
  try {
    const { readVault } = await import('../core/vault/store.js');
    return readVault(paths);
  } catch {
    return undefined;
  }
}

/**
 * Throws NOT_FOUND naming every key of `keys` missing from `project` (or the project itself),
 * with the closest existing names, when the vault file says so; returns otherwise (also when
 * the file cannot be read: the unlock that follows reports that).
 */
export async function requireKnownNames(paths: HomePaths, project: string, keys: readonly string[]): Promise<void> {
  const doc = await docOf(paths);
  if (!doc) return;
  const p = Object.hasOwn(doc.projects, project) ? doc.projects[project] : undefined;
  if (!p) {
    throw new SesameError('NOT_FOUND', `project ${project} does not exist${didYouMean(project, Object.keys(doc.projects))}`, { remedy: 'projects_create', detail: { project } });
  }
  const names = Object.keys(p.entries);
  const missing = keys.filter((k) => !Object.hasOwn(p.entries, k));
  if (!missing.length) return;
  const say = missing.map((k) => `${k}${didYouMean(k, names)}`);
  throw new SesameError('NOT_FOUND', `no key ${say.join(', ')} in project ${project}`, {
    remedy: 'list_keys',
    detail: missing.length === 1 ? { key: missing[0], project } : { keys: missing, project },
  });
}

/** The public metadata of one entry, or null where the file cannot tell (unreadable here). */
export async function entryMeta(paths: HomePaths, project: string, key: string): Promise<{ created_at: string | null; updated_at: string | null; version: number | null; high_value: boolean | null }> {
  const doc = await docOf(paths);
  const e: EntryRecord | undefined = doc && Object.hasOwn(doc.projects, project) && Object.hasOwn(doc.projects[project]!.entries, key) ? doc.projects[project]!.entries[key] : undefined;
  return { created_at: e?.created_at ?? null, updated_at: e?.updated_at ?? null, version: e?.version ?? null, high_value: e?.high_value ?? null };
}

/** The key names of `project` from the vault's public metadata, or undefined when the file cannot be read here. */
export async function projectKeyNames(paths: HomePaths, project: string): Promise<string[] | undefined> {
  const doc = await docOf(paths);
  if (!doc || !Object.hasOwn(doc.projects, project)) return undefined;
  return Object.keys(doc.projects[project]!.entries);
}
