/**
 * The vault on disk: reading it safely and changing it without losing anything.
 *
 * A change is read-modify-write under an exclusive flock on `vault.lock` (bounded wait,
 * then BUSY naming the holder), re-reading the file under the lock so two writers never
 * lose an update, then an atomic durable replace (fs/secure.ts).
 */
import { SesameError } from '../errors.js';
import { copyPrivate, readPrivateFile, readPrivateFileStat, writeFileAtomic, cleanStaleTemps, ensurePrivateDir, fileVersionKey, statPrivateFile } from '../fs/secure.js';
import { acquireLock } from '../fs/lock.js';
import type { HomePaths } from '../paths.js';
import { parseVault, type VaultDoc } from './format.js';
import { UnlockedVault, type KdfChoice } from './vault.js';
import type { SecureKey } from '../crypto/sodium.js';
import { loadConfig } from '../config.js';

/** How long a writer waits for the vault lock before BUSY, unless SESAME_LOCK_TIMEOUT_MS says otherwise (ms). */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

/** The vault-lock wait from SESAME_LOCK_TIMEOUT_MS (a finite number >= 0), else DEFAULT_LOCK_TIMEOUT_MS. Never throws. */
export function lockTimeoutMs(env: NodeJS.ProcessEnv): number {
  const v = Number(env.SESAME_LOCK_TIMEOUT_MS);
  return Number.isFinite(v) && v >= 0 ? v : DEFAULT_LOCK_TIMEOUT_MS;
}

let cache: { path: string; key: string; doc: VaultDoc } | undefined;

/**
 * Reads the vault document (no key needed). NOT_INITIALIZED when there is none. A file
 * version already parsed by this process (same inode, size and times) is not parsed
 * again; callers must treat the returned document as read-only outside mutateVault.
 */
export function readVault(paths: HomePaths): VaultDoc {
  ensurePrivateDir(paths.home, { create: false });
  const st = statPrivateFile(paths.vault, 'vault file');
  if (st && cache?.path === paths.vault && cache.key === fileVersionKey(st)) return cache.doc;
  const r = readPrivateFileStat(paths.vault, 'vault file');
  if (!r) {
    throw new SesameError('NOT_INITIALIZED', `no vault at ${paths.vault}`, { remedy: 'init' });
  }
  const doc = parseVault(r.data);
  cache = { path: paths.vault, key: fileVersionKey(r.stat), doc };
  return doc;
}

/**
 * true when something is at the vault path, even an unsafe or unreadable file (so init never writes over it
 * without --force); false only when nothing is there. Never throws.
 */
export function vaultExists(paths: HomePaths): boolean {
  try {
    return readPrivateFile(paths.vault, 'vault file') !== null;
  } catch {
    return true; // something is there, even if it is unsafe
  }
}

/** Opens the vault with a passphrase. */
export function unlockVault(paths: HomePaths, passphrase: Buffer): UnlockedVault {
  return UnlockedVault.unlock(readVault(paths), passphrase);
}

/**
 * Writes a brand-new vault (init). The caller decided that overwriting is allowed. With
 * `backup`, the current vault file is first copied there (copyPrivate: private, durable,
 * never over an existing file) under the same vault lock, so no write can land between the
 * copy and the replacement. Throws BUSY when the lock is held too long, ERROR (I/O) when a
 * write fails — a failed backup leaves the old vault in place.
 */
export function createVault(paths: HomePaths, passphrase: Buffer, kdf: KdfChoice | undefined, env: NodeJS.ProcessEnv, opts: { backup?: string } = {}): UnlockedVault {
  ensurePrivateDir(paths.home, { create: true });
  const lock = acquireLock(paths.vaultLock, { timeoutMs: lockTimeoutMs(env), what: 'the vault' });
  try {
    if (opts.backup !== undefined) copyPrivate(paths.vault, opts.backup, 'vault file');
    cache = undefined;
    const v = UnlockedVault.create(passphrase, kdf);
    writeFileAtomic(paths.vault, v.finalize());
    return v;
  } finally {
    lock.release();
  }
}

/**
 * Applies `change` to the current vault under the lock and writes it atomically.
 * `master` is the key the caller unlocked with; the file is re-read under the lock and
 * opened with it (KEY_CHANGED if re-initialised meanwhile). The vault keeps as many earlier
 * versions per key as config.toml's `history` says (read here, so every writer — the CLI and
 * the agent — keeps the same). Does not dispose `master`.
 */
export function mutateVault<T>(paths: HomePaths, master: SecureKey, env: NodeJS.ProcessEnv, change: (v: UnlockedVault) => T): T {
  const keep = loadConfig(paths).history; // a bad config refuses before the lock is taken
  const lock = acquireLock(paths.vaultLock, { timeoutMs: lockTimeoutMs(env), what: 'the vault' });
  let v: UnlockedVault | undefined;
  try {
    cleanStaleTemps(paths.vault);
    const doc = readVault(paths);
    v = UnlockedVault.withMaster(doc, master.clone()); // a copy the mutation owns and wipes
    v.historyLimit = keep;
    const result = change(v);
    writeFileAtomic(paths.vault, v.finalize());
    return result;
  } finally {
    cache = undefined; // the document may have been changed in memory
    v?.dispose();
    lock.release();
  }
}
