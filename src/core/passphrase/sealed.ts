/**
 * The sealed tier: the passphrase encrypted by the real `systemd-creds` binary under this
 * machine's host key and/or TPM2 (`sesame passphrase seal`), kept in the home as
 * `passphrase-<vault_id>.cred` (0600; the credential name `sesame-passphrase` is embedded
 * and checked). Named after the vault, so a re-initialised vault never picks up the old
 * vault's credential (which still opens the old vault's backup).
 *
 * - The passphrase goes to systemd-creds on stdin and comes back on stdout: never argv,
 *   never a temporary file. The sealed file is read by sesame (permissions checked) and
 *   piped in too, so systemd-creds never opens a path an attacker could swap.
 * - FAIL CLOSED: a sealed file that exists but cannot be unsealed (another machine's key,
 *   a changed TPM, damage, systemd-creds missing or too slow) throws with systemd-creds's
 *   reason; the chain never falls through to a weaker tier.
 * - `probe` only looks at the file and the binary; it never decrypts.
 * Caveat: on systemd < 256 the host key (/var/lib/systemd/credential.secret) is readable by
 * root only, so an unprivileged user can seal only with `--key tpm2` (TPM access needed).
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { SesameError } from '../errors.js';
import type { HomePaths } from '../paths.js';
import { readPrivateFile, removeFile, statPrivateFile, writeFileAtomic } from '../fs/secure.js';
import { resolveCommand } from '../exec.js';
import { equalBytes, wipe } from '../crypto/sodium.js';
import type { Tier } from './chain.js';
import { lastLine, runTool } from './run-tool.js';
import { vaultScope } from './store-names.js';

export type SealKey = 'host' | 'tpm2' | 'auto';
/** The systemd-creds keys a passphrase may be sealed with (`passphrase seal --key`). */
export const SEAL_KEYS: readonly SealKey[] = ['host', 'tpm2', 'auto'];
/** The credential name embedded in every sealed file; systemd-creds refuses to unseal it under another name. */
export const CRED_NAME = 'sesame-passphrase';
/** TPM2 operations can take seconds; a stuck systemd-creds must not hang a command. */
export const SYSTEMD_CREDS_TIMEOUT_MS = 15_000;

/** Where the sealed passphrase of vault `vaultId` lives in the home (`passphrase-<vault_id>.cred`, 0600). Never throws. */
export function sealedPath(paths: HomePaths, vaultId: string): string {
  return path.join(paths.home, `passphrase-${vaultId}.cred`);
}

/** The systemd-creds binary on PATH; UNAVAILABLE (with what to install) when missing. */
export function systemdCreds(env: NodeJS.ProcessEnv): string {
  const found = resolveCommand('systemd-creds', env.PATH);
  if ('error' in found) {
    throw new SesameError('UNAVAILABLE', 'systemd-creds is not installed (or not on PATH)', { hint: 'install systemd (apt-get install systemd), or use another unlock source' });
  }
  return found.path;
}

async function creds(env: NodeJS.ProcessEnv, args: string[], input: Buffer, what: string): Promise<Buffer> {
  const r = await runTool(systemdCreds(env), args, { env, input, timeoutMs: SYSTEMD_CREDS_TIMEOUT_MS, maxStdout: 1024 * 1024 });
  if (r.code === 0 && r.stdout.length > 0) return r.stdout;
  wipe(r.stdout);
  const why = r.timedOut
    ? `systemd-creds did not answer within ${SYSTEMD_CREDS_TIMEOUT_MS / 1000} s`
    : r.spawnError
      ? `systemd-creds could not start (${r.spawnError})`
      : lastLine(r.stderr) || `systemd-creds exited with status ${String(r.code ?? r.signal)}`;
  throw new SesameError('UNAVAILABLE', `${what}: ${why}`, { detail: { tier: 'sealed' } });
}

/** Encrypts the passphrase; returns the credential blob (not secret without the key). */
export function encryptPassphrase(env: NodeJS.ProcessEnv, pass: Buffer, key: SealKey): Promise<Buffer> {
  return creds(env, ['encrypt', `--with-key=${key}`, `--name=${CRED_NAME}`, '-', '-'], pass, 'cannot seal the passphrase');
}

/** Decrypts a credential blob; the caller wipes the result. */
export function decryptPassphrase(env: NodeJS.ProcessEnv, blob: Buffer, what = 'cannot unseal the passphrase'): Promise<Buffer> {
  return creds(env, ['decrypt', `--name=${CRED_NAME}`, '-', '-'], blob, what);
}

/**
 * Seals `pass` into the home: encrypt, decrypt the result and compare, and only then
 * replace the sealed file atomically. A failure leaves any previous sealed file as it was.
 */
export async function sealPassphrase(paths: HomePaths, vaultId: string, env: NodeJS.ProcessEnv, pass: Buffer, key: SealKey): Promise<void> {
  const blob = await encryptPassphrase(env, pass, key);
  const back = await decryptPassphrase(env, blob, 'the sealed passphrase does not read back');
  const same = equalBytes(back, pass);
  wipe(back);
  if (!same) throw new SesameError('ERROR', 'the sealed passphrase read back differently; nothing was written');
  writeFileAtomic(sealedPath(paths, vaultId), blob);
}

/** Unseals the home's passphrase; null when nothing is sealed. Throws (fail closed) otherwise. */
export async function unsealPassphrase(paths: HomePaths, vaultId: string, env: NodeJS.ProcessEnv): Promise<Buffer | null> {
  const file = sealedPath(paths, vaultId);
  const blob = readPrivateFile(file, 'sealed passphrase');
  if (!blob) return null;
  try {
    return await decryptPassphrase(env, blob, `the sealed passphrase ${file} cannot be unsealed`);
  } catch (e) {
    if (!(e instanceof SesameError)) throw e;
    const msg = e.message.startsWith('the sealed passphrase') ? e.message : `the sealed passphrase ${file} cannot be unsealed: ${e.message}`;
    throw new SesameError(e.code, `${msg}; sesame does not fall back to another source`, {
      remedy: 'passphrase_reseal',
      detail: { tier: 'sealed' },
    });
  }
}

/** Deletes the sealed passphrase; false when there was none. */
export function removeSealed(paths: HomePaths, vaultId: string): boolean {
  return removeFile(sealedPath(paths, vaultId));
}

/** true when something (even an unsafe file) is at the sealed path of `vaultId`; reads nothing. Never throws on ENOENT. */
export function sealedExists(paths: HomePaths, vaultId: string): boolean {
  return fs.lstatSync(sealedPath(paths, vaultId), { throwIfNoEntry: false }) !== undefined;
}

/**
 * The sealed-credential tier: unseals `passphrase-<vault_id>.cred` with systemd-creds. Absent without the file;
 * a file that cannot be unsealed fails closed (no fall back to later tiers, remedy `passphrase_reseal`).
 */
export const sealedTier: Tier = {
  name: 'sealed',
  async probe(ctx) {
    const scope = vaultScope(ctx.paths);
    if (!scope) return { tier: 'sealed', state: 'absent', detail: 'no vault' };
    const file = sealedPath(ctx.paths, scope.vaultId);
    try {
      if (!statPrivateFile(file, 'sealed passphrase')) return { tier: 'sealed', state: 'absent' };
    } catch (e) {
      if (e instanceof SesameError) return { tier: 'sealed', state: 'unusable', detail: e.message };
      throw e;
    }
    if ('error' in resolveCommand('systemd-creds', ctx.env.PATH)) return { tier: 'sealed', state: 'unusable', detail: 'systemd-creds is not installed' };
    return { tier: 'sealed', state: 'present', detail: file };
  },
  async fetch(ctx) {
    const scope = vaultScope(ctx.paths);
    return scope ? unsealPassphrase(ctx.paths, scope.vaultId, ctx.env) : null;
  },
};
