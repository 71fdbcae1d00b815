/**
 * Direct unlock for commands that need the master key: the passphrase chain, then
 * Argon2id. The passphrase Buffer is wiped as soon as the key is derived. The process is
 * hardened first (not dumpable, no core file; refused on Linux if that fails): bin.ts does
 * it for the executable, this covers the embeddable ES-module entry too.
 *
 * A passphrase typed at the prompt may be retyped: PROMPT_TRIES tries in all, then
 * WRONG_PASSPHRASE (exit 6). A derivation that takes longer than half a second shows a
 * spinner on a terminal's stderr (spinner.ts).
 */
import type { Ctx } from './context.js';
import type { UnlockedVault } from '../core/vault/vault.js';
import type { VaultDoc } from '../core/vault/format.js';
import { SesameError } from '../core/errors.js';
import { info } from './output.js';

/** How many passphrases the terminal prompt accepts before giving up (exit 6). */
const PROMPT_TRIES = 3;

/** Argon2id over `passphrase` (wiped here), with a spinner on a terminal when it takes a while. */
async function derive(doc: VaultDoc, passphrase: Buffer): Promise<UnlockedVault> {
  const { UnlockedVault } = await import('../core/vault/vault.js');
  const { startSpinner } = await import('./spinner.js');
  const stop = await startSpinner('deriving the vault key…');
  try {
    return UnlockedVault.unlock(doc, passphrase);
  } finally {
    stop();
    passphrase.fill(0);
  }
}

export async function unlockDirect(ctx: Ctx): Promise<UnlockedVault> {
  const { readVault } = await import('../core/vault/store.js');
  if (process.platform === 'linux') {
    const { requireHardening } = await import('../core/os/native.js');
    requireHardening('sesame');
  }
  const doc = readVault(ctx.paths); // NOT_INITIALIZED before any prompt
  const { resolvePassphrase, attributeWrongPassphrase } = await import('../core/passphrase/chain.js');
  const chain = await ctx.chain();
  let { passphrase, tier } = await resolvePassphrase(chain);
  for (let tries = 1; ; tries++) {
    try {
      return await derive(doc, passphrase);
    } catch (e) {
      const retry = tier === 'prompt' && chain.prompt !== undefined && e instanceof SesameError && e.code === 'WRONG_PASSPHRASE' && tries < PROMPT_TRIES;
      if (!retry) {
        await (await import('./audit-event.js')).auditFailedUnlock(ctx, e);
        throw attributeWrongPassphrase(e, tier); // name the source of a wrong passphrase
      }
      await (await import('./audit-event.js')).auditFailedUnlock(ctx, e);
      const left = PROMPT_TRIES - tries;
      info(`wrong passphrase; try again (${left} ${left === 1 ? 'try' : 'tries'} left)`);
      passphrase = await chain.prompt!('Passphrase for the sesame vault: ');
      tier = 'prompt';
    }
  }
}
