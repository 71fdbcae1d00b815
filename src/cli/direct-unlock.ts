/**
 * Direct unlock for commands that need the master key: the passphrase chain, then
 * Argon2id. The passphrase Buffer is wiped as soon as the key is derived. The process is
 * hardened first (not dumpable, no core file; refused on Linux if that fails): bin.ts does
 * it for the executable, this covers the embeddable ES-module entry too.
 */
import type { Ctx } from './context.js';
import type { UnlockedVault } from '../core/vault/vault.js';

export async function unlockDirect(ctx: Ctx): Promise<UnlockedVault> {
  const { readVault } = await import('../core/vault/store.js');
  if (process.platform === 'linux') {
    const { requireHardening } = await import('../core/os/native.js');
    requireHardening('sesame');
  }
  const doc = readVault(ctx.paths); // NOT_INITIALIZED before any prompt
  const { resolvePassphrase, attributeWrongPassphrase } = await import('../core/passphrase/chain.js');
  const { passphrase, tier } = await resolvePassphrase(await ctx.chain());
  const { UnlockedVault } = await import('../core/vault/vault.js');
  try {
    return UnlockedVault.unlock(doc, passphrase);
  } catch (e) {
    await (await import('./audit-event.js')).auditFailedUnlock(ctx, e);
    throw attributeWrongPassphrase(e, tier); // name the source of a wrong passphrase
  } finally {
    passphrase.fill(0);
  }
}
