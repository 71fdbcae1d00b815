/**
 * What the agent holds: the master key, in libsodium guarded memory (no-access except
 * while a request uses it), and the vault opened with it.
 *
 * The vault file is re-read only when it changed (a stat of inode, size, mtime and ctime
 * per request, no read); the re-read document is verified (master check and file MAC)
 * once, then values are decrypted per request. A passphrase change (same master key) is
 * picked up transparently; a re-initialised vault (another master key) makes every read
 * fail with KEY_CHANGED until the agent is restarted, and the agent stays up.
 *
 * Security: the opened vault keeps the project keys it unwrapped, also in guarded memory;
 * all of it is wiped when the file changes and on `dispose()`. Values returned by reads
 * are plain Buffers the caller must wipe.
 */
import * as fs from 'node:fs';
import { SesameError } from '../errors.js';
import { SecureKey } from '../crypto/sodium.js';
import type { HomePaths } from '../home.js';
import { fileVersionKey } from '../fs/secure.js';
import { readVault } from '../vault/store.js';
import { UnlockedVault } from '../vault/vault.js';

/** The error every read gets after the vault was re-initialised under the agent. */
export const KEY_CHANGED_MESSAGE = 'the vault key changed; restart the agent';

interface Cached {
  sig: string;
  vault?: UnlockedVault;
  error?: SesameError;
}

/** The agent's key holder and vault cache; single-threaded use only. */
export class VaultKeeper {
  #master: SecureKey;
  #paths: HomePaths;
  #cache: Cached | null = null;

  /** Takes ownership of `master` (wiped by dispose). */
  constructor(master: SecureKey, paths: HomePaths) {
    this.#master = master;
    this.#paths = paths;
  }

  /** Runs `fn` with the current vault; throws the vault's error (NOT_INITIALIZED, KEY_CHANGED, INTEGRITY…). */
  with<T>(fn: (v: UnlockedVault) => T): T {
    const sig = this.#signature();
    if (!this.#cache || this.#cache.sig !== sig) this.#reload(sig);
    const c = this.#cache!;
    if (c.error) throw c.error;
    return fn(c.vault!);
  }

  /** Wipes the master key and everything derived from it. Idempotent. */
  dispose(): void {
    this.#drop();
    this.#master.dispose();
  }

  get disposed(): boolean {
    return this.#master.disposed;
  }

  #signature(): string {
    try {
      return fileVersionKey(fs.statSync(this.#paths.vault, { bigint: true }));
    } catch (e) {
      return `missing:${(e as NodeJS.ErrnoException).code ?? 'error'}`;
    }
  }

  #drop(): void {
    this.#cache?.vault?.dispose();
    this.#cache = null;
  }

  #reload(sig: string): void {
    this.#drop();
    let copy: SecureKey | undefined;
    try {
      const doc = readVault(this.#paths);
      copy = this.#master.clone();
      this.#cache = { sig, vault: UnlockedVault.withMaster(doc, copy) };
    } catch (e) {
      copy?.dispose();
      this.#cache = { sig, error: agentError(e) };
    }
  }
}

function agentError(e: unknown): SesameError {
  if (!(e instanceof SesameError)) return new SesameError('ERROR', 'the agent cannot read the vault file', { cause: e, remedy: 'status' });
  if (e.code === 'KEY_CHANGED') {
    return new SesameError('KEY_CHANGED', KEY_CHANGED_MESSAGE, { remedy: 'agent_restart' });
  }
  return e;
}
