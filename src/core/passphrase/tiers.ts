/**
 * Registers the tiers between the passphrase file and the prompt, in the chain's order:
 * session (kernel keyring / runtime file), sealed (systemd-creds), keyring (OS keyring),
 * command (passphrase_command). Importing this module wires them into the chain.
 * See docs/spec/passphrase-chain.md.
 */
import { registerTiers } from './chain.js';
import { sessionTier } from './session.js';
import { sealedTier } from './sealed.js';
import { keyringTier } from './keyring.js';
import { commandTier } from './command.js';

registerTiers([sessionTier, sealedTier, keyringTier, commandTier]);

export { sessionTier, sealedTier, keyringTier, commandTier };
