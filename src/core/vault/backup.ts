/**
 * Whole-vault backups: a byte copy of the encrypted vault file (nothing decrypted), and
 * putting one back. A backup is taken under the vault lock, so it is one consistent version
 * of the file; restoring verifies that the backup opens with the given passphrase (keyslot,
 * master check and file MAC) BEFORE anything is replaced, keeps the current vault as
 * `vault.json.bak-STAMP`, and replaces it atomically under the lock.
 */
import { acquireLock } from '../fs/lock.js';
import { copyPrivate, readPrivateFile, readRegularFile, writeFileAtomic } from '../fs/secure.js';
import type { HomePaths } from '../paths.js';
import { SesameError } from '../errors.js';
import { parseVault } from './format.js';
import { lockTimeoutMs } from './store.js';
import { UnlockedVault } from './vault.js';

/** The largest backup file `restoreBackup` reads (bytes). */
export const MAX_BACKUP_BYTES = 256 * 1024 * 1024;

/** A UTC timestamp for file names: `20261201T020304Z`. */
export function fileStamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/**
 * Copies the vault file to `target` (0600, written atomically and durably), under the vault
 * lock. Refuses an existing `target` (ERROR, EEXIST) unless `force`. NOT_INITIALIZED when
 * there is no vault; INTEGRITY when the file does not parse (a damaged vault is not backed
 * up as if it were good). Returns the number of bytes written.
 */
export function backupVault(paths: HomePaths, env: NodeJS.ProcessEnv, target: string, opts: { force?: boolean } = {}): number {
  const lock = acquireLock(paths.vaultLock, { timeoutMs: lockTimeoutMs(env), what: 'the vault' });
  try {
    const data = readPrivateFile(paths.vault, 'vault file');
    if (!data) throw new SesameError('NOT_INITIALIZED', `no vault at ${paths.vault}`, { remedy: 'init' });
    parseVault(data);
    writeFileAtomic(target, data, 0o600, { exclusive: opts.force !== true });
    return data.length;
  } finally {
    lock.release();
  }
}

/**
 * Replaces the vault with the backup `file`, after checking that it opens with `passphrase`
 * (WRONG_PASSPHRASE or INTEGRITY otherwise, and nothing is touched). The current vault, if
 * any, is kept as `vault.json.bak-STAMP` (never over an existing file) before the atomic
 * replace; both under the vault lock. Returns that path (null when there was no vault).
 * Does not wipe `passphrase`.
 */
export function restoreBackup(paths: HomePaths, env: NodeJS.ProcessEnv, file: string, passphrase: Buffer, stamp = fileStamp()): { kept: string | null } {
  const bytes = readRegularFile(file, 'backup file', { maxBytes: MAX_BACKUP_BYTES, followSymlinks: true });
  const doc = parseVault(bytes);
  UnlockedVault.unlock(doc, passphrase).dispose(); // keyslot, master check and file MAC, before anything is replaced
  const lock = acquireLock(paths.vaultLock, { timeoutMs: lockTimeoutMs(env), what: 'the vault' });
  try {
    const kept = `${paths.vault}.bak-${stamp}`;
    const had = copyPrivate(paths.vault, kept, 'vault file');
    writeFileAtomic(paths.vault, bytes);
    return { kept: had ? kept : null };
  } finally {
    lock.release();
  }
}
