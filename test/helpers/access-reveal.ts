/**
 * Tests read values the way src/ must: through the plaintext door (src/core/access.ts), as
 * the owner reading directly. `UnlockedVault` has no public decrypting method.
 */
import { directContext, readOneNow, vaultSource } from '../../src/core/access.js';
import type { UnlockedVault } from '../../src/core/vault/vault.js';

/** One value of `v` (the caller wipes it); errors as the door's (NOT_FOUND, INTEGRITY…). */
export function reveal(v: UnlockedVault, project: string, key: string): Buffer {
  return readOneNow(directContext(), vaultSource(v), project, key);
}
