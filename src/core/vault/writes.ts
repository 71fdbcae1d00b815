/**
 * Every change to keys as one value (`WriteOp`) and one function that applies it
 * (`applyWrite`), so the CLI's direct writes and the agent's writes (`agent start --writes`)
 * run the same code: under the vault lock, on a fresh read of the file, written atomically
 * (store.ts mutateVault). Values travel in Buffers the caller wipes; results carry names
 * and version numbers only.
 */
import type { SecureKey } from '../crypto/sodium.js';
import type { HomePaths } from '../paths.js';
import { mutateVault } from './store.js';
import type { UnlockedVault } from './vault.js';

/**
 * One change. `value` (set) and the entries' values (import) are Buffers off V8's heap that
 * the caller owns and wipes. `import` sets several keys in one atomic write (all or none);
 * a key that exists is left alone unless `overwrite`.
 */
export type WriteOp =
  | { op: 'set'; project: string; key: string; value: Buffer; highValue?: boolean }
  | { op: 'import'; project: string; entries: ReadonlyArray<readonly [string, Buffer]>; overwrite?: boolean }
  | { op: 'rm'; project: string; key: string }
  | { op: 'restore'; project: string; key: string }
  | { op: 'purge'; project: string; key: string }
  | { op: 'rollback'; project: string; key: string; to?: number }
  | { op: 'mv'; project: string; key: string; toProject: string; toKey: string; force?: boolean }
  | { op: 'cp'; project: string; key: string; toProject: string; toKey: string; force?: boolean }
  | { op: 'project_rename'; project: string; to: string };

/** What a write reports: the event name for the audit log, what happened, the names touched. */
export interface WriteResult {
  event: string;
  /** added, updated, removed, deleted, restored, purged, rolled_back, created, replaced, renamed, imported. */
  result: string;
  project: string;
  /** The names touched (import: the keys written, in the entries' order; a skipped one is not named). */
  keys: string[];
  /** The key's version after the write (set, rollback, restore), when it has one. */
  version?: number;
  /** rollback: the version whose value became current again. */
  from?: number;
}

/** Applies `w` to an opened vault (inside mutateVault). Throws the vault's errors; changes nothing on a throw that mutateVault then discards. */
function applyWrite(v: UnlockedVault, w: WriteOp): WriteResult {
  const base = { project: w.project, keys: 'key' in w ? [w.key] : [] };
  switch (w.op) {
    case 'set': {
      const r = v.set(w.project, w.key, w.value, w.highValue === undefined ? {} : { highValue: w.highValue });
      return { ...base, event: 'set', result: r, version: v.entry(w.project, w.key)!.version };
    }
    case 'import': {
      const keys: string[] = [];
      for (const [key, value] of w.entries) {
        if (!w.overwrite && v.has(w.project, key)) continue; // it exists (perhaps since the caller looked): never overwritten unasked
        v.set(w.project, key, value);
        keys.push(key);
      }
      return { event: 'import', result: 'imported', project: w.project, keys };
    }
    case 'rm':
      return { ...base, event: 'rm', result: v.rm(w.project, w.key) };
    case 'restore':
      return { ...base, event: 'restore', result: 'restored', version: v.restore(w.project, w.key).version };
    case 'purge':
      v.purge(w.project, w.key);
      return { ...base, event: 'purge', result: 'purged' };
    case 'rollback': {
      const r = v.rollback(w.project, w.key, w.to);
      return { ...base, event: 'rollback', result: 'rolled_back', version: r.version, from: r.from };
    }
    case 'mv':
    case 'cp': {
      const r = v.transfer(w.project, w.key, w.toProject, w.toKey, { move: w.op === 'mv', ...(w.force ? { force: true } : {}) });
      return { event: w.op, result: r, project: w.project, keys: [w.key, w.toKey], version: v.entry(w.toProject, w.toKey)!.version };
    }
    case 'project_rename':
      v.renameProject(w.project, w.to);
      return { event: 'project_rename', result: 'renamed', project: w.project, keys: [] };
  }
}

/** Applies `w` under the vault lock with `master` and writes the vault atomically (store.ts mutateVault). */
export function writeVault(paths: HomePaths, master: SecureKey, env: NodeJS.ProcessEnv, w: WriteOp): WriteResult {
  return mutateVault(paths, master, env, (v) => applyWrite(v, w));
}
