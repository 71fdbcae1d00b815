/**
 * The default order of the passphrase chain (docs/spec/passphrase-chain.md): SESAME_PASSPHRASE,
 * SESAME_PASSPHRASE_FILE, then the machine tiers (session, sealed, keyring, command; their
 * module loads only when both environment tiers are absent), then the prompt. The CLI puts
 * it into every ChainContext it builds; a caller that wants another order passes its own.
 */
import { promptTier, type ChainStep, type Tier } from './chain.js';
import { envTier, fileTier } from './sources.js';

async function machineTiers(): Promise<readonly Tier[]> {
  return (await import('./tiers.js')).MACHINE_TIERS;
}

/** The chain's default order: environment, file, the machine tiers (loaded lazily, only when both were absent), the prompt. */
export const DEFAULT_ORDER: readonly ChainStep[] = [envTier, fileTier, machineTiers, promptTier];
