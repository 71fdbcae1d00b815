/**
 * `init` as a library call: create the vault at a home, idempotently. An existing vault is
 * left untouched unless the caller forces a new one; then the old file is kept as a private
 * backup (fs/secure.ts copyPrivate, under the vault lock) before the new vault replaces it.
 * The caller supplies what needs a user: the confirmation and the new passphrase; the clock
 * names the backup. Nothing here prints, prompts or reads argv.
 */
import { ensurePrivateDir } from '../fs/secure.js';
import type { HomePaths } from '../paths.js';
import { createVault, vaultExists } from './store.js';
import type { KdfChoice } from './vault.js';

export interface InitOptions {
  /** Replace an existing vault (after `confirmReplace`), keeping a backup of it. */
  force: boolean;
  /** Argon2id parameters; the format's defaults when absent. */
  kdf?: KdfChoice;
}

export interface InitDeps {
  paths: HomePaths;
  env: NodeJS.ProcessEnv;
  /** The new passphrase; the caller's buffer, wiped here once the vault is written (or not). */
  newPassphrase: () => Promise<Buffer>;
  /** Called before an existing vault is replaced; throws to refuse (nothing is changed then). */
  confirmReplace: () => Promise<void>;
  /** The clock that names the backup (default: the system clock). */
  now?: () => Date;
}

export type InitResult = { created: false; vault: string } | { created: true; vault: string; vaultId: string; backup?: string };

/** The backup's name for a vault replaced at `when`: `<vault>.<ISO time, : and . as ->.bak`. */
export function backupName(vault: string, when: Date): string {
  return `${vault}.${when.toISOString().replace(/[:.]/g, '-')}.bak`;
}

/**
 * Creates the vault at `deps.paths` (the home made private, 0700, if missing). With a vault
 * already there and no `force`: returns `created: false` and changes nothing. With `force`:
 * `confirmReplace` first, then the passphrase, then, under the vault lock, the old file is
 * copied to a new private backup and the new vault written atomically. Throws what the
 * callbacks throw (nothing changed), INSECURE for an unsafe home or vault file, ERROR with
 * `detail.errno` when a write fails (the old vault then stays in place), BUSY on a held lock.
 */
export async function initVault(opts: InitOptions, deps: InitDeps): Promise<InitResult> {
  ensurePrivateDir(deps.paths.home, { create: true });
  const exists = vaultExists(deps.paths);
  if (exists && !opts.force) return { created: false, vault: deps.paths.vault };
  if (exists) await deps.confirmReplace();
  const pass = await deps.newPassphrase();
  try {
    const backup = exists ? backupName(deps.paths.vault, (deps.now ?? (() => new Date()))()) : undefined;
    const v = createVault(deps.paths, pass, opts.kdf, deps.env, backup !== undefined ? { backup } : {});
    const vaultId = v.vaultId;
    v.dispose();
    return { created: true, vault: deps.paths.vault, vaultId, ...(backup !== undefined ? { backup } : {}) };
  } finally {
    pass.fill(0);
  }
}
