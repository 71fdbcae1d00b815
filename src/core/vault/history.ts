/**
 * What a key's history and the removed keys look like, from the vault document alone: names,
 * version numbers and times, never a value, so `history` needs no unlock. The operations that
 * change history (set, rm, restore, purge, rollback, mv, cp) are UnlockedVault methods.
 */
import { SesameError } from '../errors.js';
import type { VaultDoc } from './format.js';
import { projectNotFound } from './vault.js';

/** One version of a key as `history` lists it. */
export interface VersionInfo {
  version: number;
  updated_at: string;
  high_value: boolean;
  /** The value the key has now (for a removed key: the value it had when removed). */
  current: boolean;
}

/** A key's versions, oldest first; `removed_at` is set (not null) when the key is removed and recoverable. */
export interface KeyHistory {
  project: string;
  key: string;
  removed_at: string | null;
  versions: VersionInfo[];
}

/** A removed key, recoverable with `restore` until `purge`. */
export interface RemovedInfo {
  key: string;
  removed_at: string;
  version: number;
  versions: number;
}

/**
 * The versions of `key` in `project` (live or removed). NOT_FOUND when the project does not
 * exist or holds no key of that name, live or removed. Reads metadata only.
 */
export function historyOf(doc: VaultDoc, project: string, key: string): KeyHistory {
  const p = Object.hasOwn(doc.projects, project) ? doc.projects[project] : undefined;
  if (!p) throw projectNotFound(project);
  const live = Object.hasOwn(p.entries, key) ? p.entries[key] : undefined;
  const gone = !live && p.removed && Object.hasOwn(p.removed, key) ? p.removed[key] : undefined;
  const e = live ?? gone;
  if (!e) throw new SesameError('NOT_FOUND', `no key ${key} in project ${project}, live or removed`, { remedy: 'list_keys', detail: { key, project } });
  const versions: VersionInfo[] = (e.history ?? []).map((h) => ({ version: h.version, updated_at: h.updated_at, high_value: h.high_value, current: false }));
  versions.push({ version: e.version, updated_at: e.updated_at, high_value: e.high_value, current: true });
  return { project, key, removed_at: gone ? gone.removed_at : null, versions };
}

/** The removed keys of `project`, in byte order. NOT_FOUND when the project does not exist. */
export function removedKeys(doc: VaultDoc, project: string): RemovedInfo[] {
  const p = Object.hasOwn(doc.projects, project) ? doc.projects[project] : undefined;
  if (!p) throw projectNotFound(project);
  const r = p.removed ?? {};
  return Object.keys(r)
    .sort()
    .map((key) => ({ key, removed_at: r[key]!.removed_at, version: r[key]!.version, versions: (r[key]!.history?.length ?? 0) + 1 }));
}
