/**
 * The rules for projects that are not about keys: which projects may be deleted, and the
 * summary `projects list` shows. Pure functions over a vault document (public metadata).
 * The operations that change projects are in project-ops.ts.
 */
import { SesameError } from '../errors.js';
import { DEFAULT_PROJECT } from '../names.js';
import type { VaultDoc } from './format.js';

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
