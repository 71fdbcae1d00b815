/**
 * The machine tiers, in the chain's order: session (kernel keyring / runtime file), sealed
 * (systemd-creds), keyring (OS keyring), command (passphrase_command). Importing this
 * module registers nothing; order.ts places these tiers in the default order and loads
 * this module only when the environment tiers were absent. See docs/spec/passphrase-chain.md.
 */
import type { Tier } from './chain.js';
import { sessionTier } from './session.js';
import { sealedTier } from './sealed.js';
import { keyringTier } from './keyring.js';
import { commandTier } from './command.js';

/** The tiers bound to this machine, in the order the chain asks them: session, sealed, keyring, command. */
export const MACHINE_TIERS: readonly Tier[] = [sessionTier, sealedTier, keyringTier, commandTier];

export { sessionTier, sealedTier, keyringTier, commandTier };
