/**
 * Direct unlock for commands that need the master key: the passphrase chain, then
 * Argon2id. The passphrase Buffer is wiped as soon as the key is derived.
 */
import type { Ctx } from './context.js';
import { SesameError } from '../core/errors.js';
import type { UnlockedVault } from '../core/vault/vault.js';

export async function unlockDirect(ctx: Ctx): Promise<UnlockedVault> {
  const { readVault } = await import('../core/vault/store.js');
  const doc = readVault(ctx.paths); // NOT_INITIALIZED before any prompt
  const { resolvePassphrase, attributeWrongPassphrase } = await import('../core/passphrase/chain.js');
  const { envTier, fileTier } = await import('../core/passphrase/sources.js');
  const chain = await ctx.chain();
  // The environment tiers come first in the chain; only when neither answers are the
  // other tiers (and their modules: child processes, keyring, kernel keyring) loaded.
  // A failing tier still fails closed: only "none answered" (LOCKED) moves on.
  let found = await resolvePassphrase(chain, [envTier, fileTier]).catch((e: unknown) => {
    if (e instanceof SesameError && e.code === 'LOCKED') return null;
    throw e;
  });
  if (!found) {
    await import('../core/passphrase/tiers.js');
    found = await resolvePassphrase(chain);
  }
  const { passphrase, tier } = found;
  const { UnlockedVault } = await import('../core/vault/vault.js');
  try {
    return UnlockedVault.unlock(doc, passphrase);
  } catch (e) {
    throw attributeWrongPassphrase(e, tier); // name the source of a wrong passphrase
  } finally {
    passphrase.fill(0);
  }
}
