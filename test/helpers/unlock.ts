/**
 * Helpers for the unlock-chain end-to-end tests: environments without a passphrase source,
 * `status --json` tier states, and outside views of the real stores (keyctl, files).
 */
import { registerSecret } from './suite-registry.js';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { homePaths } from '../../src/core/paths.js';
import { vaultScope, type TierScope } from '../../src/core/passphrase/store-names.js';
import { keyringAccount } from '../../src/core/passphrase/keyring.js';
import { initHome, sesame, setSecret, type TestHome } from './cli.js';
import { startKeyring, type KeyringSession } from './keyring.js';

/** h.env minus the passphrase file, plus `extra`: only the tiers under test can answer. */
export function bare(h: TestHome, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...h.env };
  delete env.SESAME_PASSPHRASE_FILE;
  return { ...env, ...extra };
}

export type TierStates = Record<string, { state: string; detail?: string }>;

export async function tierStates(env: NodeJS.ProcessEnv): Promise<TierStates> {
  const r = await sesame(['status', '--json'], { env });
  if (r.code !== 0) throw new Error(`status failed: ${r.stderr}`);
  const out: TierStates = {};
  for (const t of (JSON.parse(r.out) as { unlock: Array<{ tier: string; state: string; detail?: string }> }).unlock) out[t.tier] = t;
  return out;
}

export function scopeOfHome(h: TestHome): TierScope {
  return vaultScope(homePaths(h.dir))!;
}

/** The kernel key description of a home's session entry. */
export const sessionDesc = (h: TestHome): string => {
  const s = scopeOfHome(h);
  return `sesame:session:${s.homeTag}:${s.vaultId}`;
};

/** Asks the real kernel, through keyctl, whether the session key exists (never reads it). */
export function kernelHasSession(h: TestHome): boolean {
  return spawnSync('keyctl', ['search', '@s', 'user', sessionDesc(h)], { encoding: 'utf8' }).status === 0;
}

export const accountOf = (h: TestHome): string => keyringAccount(scopeOfHome(h));
export const sealedFile = (h: TestHome): string => path.join(h.dir, `passphrase-${scopeOfHome(h).vaultId}.cred`);

/** Writes an executable script next to the home; returns its path. */
export function scriptFile(h: TestHome, name: string, body: string): string {
  const p = path.join(path.dirname(h.dir), name);
  fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o700 });
  return p;
}

export function writeConfig(h: TestHome, text: string): void {
  fs.writeFileSync(path.join(h.dir, 'config.toml'), text, { mode: 0o600 });
}

/** Writes a 0600 passphrase file next to the home; returns its path. */
export function passFile(h: TestHome, name: string, value: string): string {
  const p = path.join(path.dirname(h.dir), name);
  fs.writeFileSync(p, `${value}\n`, { mode: 0o600 });
  registerSecret(value);
  return p;
}

/** `lock` with the home's env: leaves nothing in the shared kernel session keyring. */
export async function lockHome(h: TestHome): Promise<void> {
  await sesame(['lock'], { env: bare(h) });
}

/** A private 0700 directory on a tmpfs (/dev/shm), like /run/user/UID, removed after the test; null = skipped. */
export function tmpfsRuntime(t: { skip(m: string): void; after(fn: () => void): void }): string | null {
  const TMPFS = 0x01021994;
  if (!fs.existsSync('/dev/shm') || fs.statfsSync('/dev/shm').type !== TMPFS) {
    if (process.env.CI === 'true') throw new Error('/dev/shm must be a tmpfs in CI');
    t.skip('no tmpfs at /dev/shm');
    return null;
  }
  const d = fs.mkdtempSync('/dev/shm/sesame-xdg-');
  fs.chmodSync(d, 0o700);
  t.after(() => {
    fs.rmSync(d, { recursive: true, force: true });
  });
  return d;
}

/** A vault with one secret, a private gnome-keyring, and env for both (with the passphrase file). */
export async function keyringHome(t: { after(fn: () => unknown): void }): Promise<{ h: TestHome; ks: KeyringSession; env: NodeJS.ProcessEnv; bareEnv: NodeJS.ProcessEnv }> {
  const h = await initHome();
  await setSecret(h, 'K', 'v');
  const ks = await startKeyring(path.dirname(h.dir));
  t.after(async () => {
    ks.stop();
    await lockHome(h);
    h.cleanup();
  });
  return { h, ks, env: { ...h.env, ...ks.env }, bareEnv: { ...bare(h), ...ks.env } };
}
