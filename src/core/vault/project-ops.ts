/**
 * Projects as library calls: the operations `projects create/use/delete/list` run. Each
 * checks what it can before it asks for the key (`deps.unlock` is called only when
 * something will be written), then changes the vault under its lock (store.ts
 * mutateVault). The rules themselves are in projects.ts.
 */
import { SesameError } from '../errors.js';
import type { SecureKey } from '../crypto/sodium.js';
import { readRegularFile, removeFile, writeFileAtomic } from '../fs/secure.js';
import type { HomePaths } from '../paths.js';
import { checkProjectDeletable, projectSummaries, type ProjectSummary } from './projects.js';
import { mutateVault, readVault } from './store.js';
import { DEFAULT_PROJECT } from '../names.js';
import type { UnlockedVault } from './vault.js';

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
  await mutate(deps, (v) => {
    v.createProject(name);
  });
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
  await mutate(deps, (v) => {
    v.deleteProject(name);
  });
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

/**
 * Refuses a project rename on the names alone, before any unlock: NOT_FOUND for a missing
 * `from`, USAGE for the default project, INVALID for an existing `to` (the vault checks
 * again under the lock: vault.ts renameProject).
 */
export function checkProjectRename(paths: HomePaths, from: string, to: string): void {
  const doc = readVault(paths);
  if (!Object.hasOwn(doc.projects, from)) throw new SesameError('NOT_FOUND', `project ${from} does not exist`, { remedy: 'projects_list' });
  if (from === DEFAULT_PROJECT) {
    throw new SesameError('USAGE', `project ${DEFAULT_PROJECT} cannot be renamed: it is where every command goes without --project`, { remedy: 'project_copy_keys' });
  }
  if (Object.hasOwn(doc.projects, to)) throw new SesameError('INVALID', `project ${to} already exists; nothing was changed`, { hint: 'choose another name (projects are never merged by a rename)' });
}

/** After a rename: a current-project file naming `from` is made to name `to` (atomically). An unreadable or unsafe one is left alone. */
export function followProjectRename(paths: HomePaths, from: string, to: string): void {
  let current: string | undefined;
  try {
    current = readRegularFile(paths.projectFile, 'project file', { maxBytes: 4096, followSymlinks: false }).toString('utf8').trim();
  } catch {
    current = undefined;
  }
  if (current === from) writeFileAtomic(paths.projectFile, `${to}\n`);
}

/** The projects of the vault at `paths` (projectSummaries of its document); needs no key. NOT_INITIALIZED without a vault. */
export function listProjects(paths: HomePaths, current: string): ProjectSummary[] {
  return projectSummaries(readVault(paths), current);
}
