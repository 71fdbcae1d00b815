/**
 * Scoping of the machine tiers: every entry sesame stores outside the home (kernel session
 * keyring, runtime file, OS keyring) is named after one vault in one home, so two homes
 * (or a re-initialised vault) never share or overwrite each other's entry.
 *
 *   homeTag = first 16 hex chars of SHA-256(real path of the home)
 *   id      = `${homeTag}-${vault_id}`
 *
 * Contract: these names are public metadata (a hash and the vault id), never a secret.
 * Caveat: moving the home to another path changes its tag; entries stored under the old
 * path are then ignored (run `sesame unlock` or `passphrase to-keyring` again).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { SesameError } from '../errors.js';
import type { HomePaths } from '../paths.js';
import { readVault } from '../vault/store.js';
import type { VaultDoc } from '../vault/format.js';

export interface TierScope {
  vaultId: string;
  homeTag: string;
  /** `${homeTag}-${vaultId}`: the name of this vault's entries. */
  id: string;
}

/** The tag of a home: a short hash of its real path (the resolved path if it does not exist). */
export function homeTag(paths: HomePaths): string {
  let real = paths.home;
  try {
    real = fs.realpathSync(paths.home);
  } catch {
    /* not created yet: the resolved path */
  }
  return createHash('sha256').update(real).digest('hex').slice(0, 16);
}

/** The scope (home tag, vault id, entry name) of `doc` in the home at `paths`. Public metadata; never throws. */
export function tierScopeOf(paths: HomePaths, doc: VaultDoc): TierScope {
  const tag = homeTag(paths);
  return { vaultId: doc.vault_id, homeTag: tag, id: `${tag}-${doc.vault_id}` };
}

/**
 * The scope of the vault at `paths`; null when there is no vault yet (nothing can be stored
 * for it). Other problems (unsafe permissions, a damaged file) are thrown.
 */
export function vaultScope(paths: HomePaths): TierScope | null {
  try {
    return tierScopeOf(paths, readVault(paths));
  } catch (e) {
    if (e instanceof SesameError && e.code === 'NOT_INITIALIZED') return null;
    throw e;
  }
}
