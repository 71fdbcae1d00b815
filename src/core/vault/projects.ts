/**
 * Projects as library calls: the rules that are not about keys (which projects may be
 * deleted, the summary `projects list` shows: pure functions over a vault document, public
 * metadata only) and the operations `projects create/use/delete` run. An operation checks
 * what it can before it asks for the key (`deps.unlock` is called only when something will
 * be written), then changes the vault under its lock (store.ts mutateVault).
 */
import { SesameError } from '../errors.js';
import type { SecureKey } from '../crypto/sodium.js';
import { readRegularFile, removeFile, writeFileAtomic } from '../fs/secure.js';
import { DEFAULT_PROJECT, type HomePaths } from '../home.js';
import type { VaultDoc } from './format.js';
import { mutateVault, readVault } from './store.js';
import type { UnlockedVault } from './vault.js';

/**
 * Refuses (USAGE) deleting the default project or the last project: every command without
 * --project falls back to "default", so a vault without it, or without any project, would
 * fail everywhere. NOT_FOUND when `name` does not exist. Returns its number of keys.
 */
export function checkProjectDeletable(projects: VaultDoc['projects'], name: string): number {
  const p = Object.hasOwn(projects, name) ? projects[name] : undefined;
  if (!p) throw new SesameError('NOT_FOUND', `project ${name} does not exist`, { remedy: 'projects_list' });
  if (name === DEFAULT_PROJECT) {
    throw new SesameError('USAGE', `project ${DEFAULT_PROJECT} cannot be deleted: it is where every command goes without --project`, {
      remedy: 'rm_keys',
      detail: { project: DEFAULT_PROJECT },
    });
  }
  if (Object.keys(projects).length <= 1) {
    throw new SesameError('USAGE', `project ${name} is the last project and cannot be deleted`, { hint: 'create another project first' });
  }
  return Object.keys(p.entries).length;
}

/** What a project operation needs from its caller. */
export interface ProjectDeps {
  paths: HomePaths;
  env: NodeJS.ProcessEnv;
  /** Called once, only when something will be written; returns the key holder (disposed here). */
  unlock: () => Promise<{ master: SecureKey; dispose(): void }>;
}

async function mutate(deps: ProjectDeps, fn: (v: UnlockedVault) => void): Promise<void> {
  const v = await deps.unlock();
  try {
    mutateVault(deps.paths, v.master, deps.env, fn);
  } finally {
    v.dispose();
  }
}

/**
 * Creates project `name` (a checked name) with its own data key. INVALID when it already
 * exists (checked before any unlock, and again under the lock by the vault).
 */
export async function createProject(name: string, deps: ProjectDeps): Promise<void> {
  if (Object.hasOwn(readVault(deps.paths).projects, name)) throw new SesameError('INVALID', `project ${name} already exists`);
  await mutate(deps, (v) => v.createProject(name));
}

/**
 * Makes `name` this home's current project (the project file, written atomically, 0600).
 * NOT_FOUND (remedy `project_create`, detail.project) when the vault has no such project.
 * Needs no key.
 */
export function useProject(paths: HomePaths, name: string): void {
  if (!Object.hasOwn(readVault(paths).projects, name)) {
    throw new SesameError('NOT_FOUND', `project ${name} does not exist`, { remedy: 'project_create', detail: { project: name } });
  }
  writeFileAtomic(paths.projectFile, `${name}\n`);
}

/**
 * Deletes project `name` with its secrets and returns how many it held. Refuses before any
 * unlock: NOT_FOUND, USAGE for the default or the last project (checkProjectDeletable), and
 * USAGE for a project that still holds secrets unless `yes`. Afterwards, a current-project
 * file naming it is removed (an unreadable or unsafe one is left alone).
 */
export async function deleteProject(name: string, opts: { yes: boolean }, deps: ProjectDeps): Promise<number> {
  const n = checkProjectDeletable(readVault(deps.paths).projects, name);
  if (n > 0 && !opts.yes) {
    throw new SesameError('USAGE', `project ${name} holds ${n} secret${n === 1 ? '' : 's'}; pass --yes to delete it with them`);
  }
  await mutate(deps, (v) => v.deleteProject(name));
  let current: string | undefined;
  try {
    current = readRegularFile(deps.paths.projectFile, 'project file', { maxBytes: 4096, followSymlinks: false }).toString('utf8').trim();
  } catch {
    current = undefined; // no (usable) current-project file
  }
  try {
    if (current === name) removeFile(deps.paths.projectFile);
  } catch {
    /* the project is gone; a stale current-project file only makes later commands name it */
  }
  return n;
}

export interface ProjectSummary {
  name: string;
  keys: number;
  current: boolean;
}

/** The projects of a document, sorted by name, with their key counts. */
export function projectSummaries(doc: VaultDoc, current: string): ProjectSummary[] {
  return Object.keys(doc.projects)
    .sort()
    .map((name) => ({ name, keys: Object.keys(doc.projects[name]!.entries).length, current: name === current }));
}

/** The projects of the vault at `paths` (projectSummaries of its document); needs no key. NOT_INITIALIZED without a vault. */
export function listProjects(paths: HomePaths, current: string): ProjectSummary[] {
  return projectSummaries(readVault(paths), current);
}
