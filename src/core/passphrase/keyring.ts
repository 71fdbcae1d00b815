/**
 * The OS keyring tier through @napi-rs/keyring: Secret Service on Linux (pinned: never the
 * library's silent fallback to the non-durable kernel keyring), Keychain on macOS, Credential
 * Manager on Windows. Entry: service "sesame", account `vault-<homeTag>-<vault_id>`.
 *
 * - Bounded: every keyring call gets KEYRING_TIMEOUT_MS (2 s). A locked, absent or wedged
 *   keyring never hangs a command: `fetch` notes why on stderr and falls through to the
 *   next tier (as the issue specifies for this tier; a WRONG passphrase still fails).
 * - `locateKeyring` answers present/locked/absent WITHOUT reading the secret: on Linux a
 *   D-Bus SearchItems through `dbus-send` (no unlock prompt, no secret transferred).
 *   Elsewhere, or without dbus-send, it falls back to a bounded read that is wiped at once
 *   (said so in the detail).
 * Caveat: the library reads the process environment (DBUS_SESSION_BUS_ADDRESS), not the
 * ChainContext's, and hands us the secret as a JS array that we zero after copying.
 */
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SesameError } from '../errors.js';
import { resolveCommand } from '../exec.js';
import { equalBytes, wipe } from '../crypto/sodium.js';
import type { Tier, TierStatus } from './chain.js';
import { lastLine, runTool } from './run-tool.js';
import { vaultScope, type TierScope } from './store-names.js';

type KeyringLib = typeof import('@napi-rs/keyring');
type Entry = InstanceType<KeyringLib['AsyncEntry']>;
const require = createRequire(import.meta.url);

/** The service name of sesame's OS-keyring entries (the account names the vault: keyringAccount). */
export const KEYRING_SERVICE = 'sesame';
/** How long a keyring call may take before the tier reports it unreachable (ms): a locked or hung Secret Service must not hang a command. */
export const KEYRING_TIMEOUT_MS = 2000;
/** The keyring account of one vault in one home (`vault-<scope id>`): public metadata, never a secret. */
export const keyringAccount = (s: TierScope): string => `vault-${s.id}`;

export interface KeyringLocation {
  state: 'present' | 'locked' | 'absent' | 'unreachable';
  detail?: string;
}

function entry(scope: TierScope): Entry {
  const lib = require('@napi-rs/keyring') as KeyringLib;
  return new lib.AsyncEntry(KEYRING_SERVICE, keyringAccount(scope), { linux: { store: 'secret-service' } });
}

/** Linux: is there a session bus to find a Secret Service on? (other platforms: true) */
export function sessionBusAvailable(env: NodeJS.ProcessEnv): boolean {
  if (process.platform !== 'linux') return true;
  if (env.DBUS_SESSION_BUS_ADDRESS) return true;
  return !!env.XDG_RUNTIME_DIR && fs.existsSync(path.join(env.XDG_RUNTIME_DIR, 'bus'));
}

/** Runs one keyring call with a hard deadline; rejects UNAVAILABLE with a short reason. */
async function bounded<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(new SesameError('UNAVAILABLE', `the OS keyring did not answer within ${KEYRING_TIMEOUT_MS / 1000} s`));
    }, KEYRING_TIMEOUT_MS);
  });
  try {
    return await Promise.race([call(ac.signal), deadline]);
  } catch (e) {
    if (e instanceof SesameError) throw e;
    throw new SesameError('UNAVAILABLE', `the OS keyring ${explain(e)}`);
  } finally {
    clearTimeout(timer);
  }
}

function explain(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  if (/prompt was dismissed|is locked/i.test(m)) return 'is locked';
  if (/ServiceUnknown|no result found|NoSuchObject|not provided by any \.service/i.test(m)) return 'has no usable Secret Service collection';
  if (/NoReply|did not receive a reply|timed? ?out/i.test(m)) return `did not answer within ${KEYRING_TIMEOUT_MS / 1000} s`;
  return `failed: ${m.split('\n')[0]!.slice(0, 200)}`;
}

/** Reads this vault's keyring entry (caller wipes); null when there is none. Throws UNAVAILABLE. */
export async function readKeyring(scope: TierScope): Promise<Buffer | null> {
  const arr = await bounded((signal) => entry(scope).getSecret(signal));
  if (!arr) return null;
  const b = Buffer.from(arr);
  arr.fill(0);
  return b;
}

/** Writes the entry, reads it back and compares. Throws UNAVAILABLE or ERROR on any failure. */
export async function writeKeyring(scope: TierScope, pass: Buffer): Promise<void> {
  await bounded((signal) => entry(scope).setSecret(pass, signal));
  const back = await readKeyring(scope);
  const same = equalBytes(back, pass);
  wipe(back);
  if (!same) throw new SesameError('ERROR', 'the OS keyring returned something else than was written');
}

/** Deletes the entry; false when there was none. Throws UNAVAILABLE when the keyring fails. */
export function deleteKeyring(scope: TierScope): Promise<boolean> {
  return bounded((signal) => entry(scope).deleteCredential(signal));
}

/** Where the entry stands, without reading the secret where the platform allows. */
export async function locateKeyring(env: NodeJS.ProcessEnv, scope: TierScope): Promise<KeyringLocation> {
  if (!sessionBusAvailable(env)) return { state: 'absent', detail: 'no D-Bus session bus' };
  const dbusSend = process.platform === 'linux' ? resolveCommand('dbus-send', env.PATH) : { error: 'not-found' as const };
  if (!('error' in dbusSend)) return searchItems(dbusSend.path, env, scope);
  try {
    const v = await readKeyring(scope);
    wipe(v);
    return v ? { state: 'present', detail: 'checked by reading it (no dbus-send)' } : { state: 'absent' };
  } catch (e) {
    return { state: 'unreachable', detail: (e as Error).message };
  }
}

async function searchItems(dbusSend: string, env: NodeJS.ProcessEnv, scope: TierScope): Promise<KeyringLocation> {
  const args = ['--session', '--print-reply', `--reply-timeout=${KEYRING_TIMEOUT_MS}`, '--dest=org.freedesktop.secrets', '/org/freedesktop/secrets'];
  args.push('org.freedesktop.Secret.Service.SearchItems', `dict:string:string:service,${KEYRING_SERVICE},username,${keyringAccount(scope)}`);
  const r = await runTool(dbusSend, args, { env, timeoutMs: KEYRING_TIMEOUT_MS + 1000 });
  if (r.code === 0) {
    const [, unlocked = '', locked = ''] = r.stdout.toString('utf8').split(/array \[/);
    if (unlocked.includes('object path')) return { state: 'present', detail: 'Secret Service' };
    if (locked.includes('object path')) return { state: 'locked', detail: 'the keyring is locked' };
    return { state: 'absent' };
  }
  if (r.timedOut || /NoReply/.test(r.stderr)) return { state: 'unreachable', detail: `the keyring did not answer within ${KEYRING_TIMEOUT_MS / 1000} s` };
  if (/ServiceUnknown|NameHasNoOwner|Failed to open connection/.test(r.stderr)) return { state: 'absent', detail: 'no Secret Service' };
  return { state: 'unreachable', detail: lastLine(r.stderr) || 'dbus-send failed' };
}

/**
 * The OS-keyring tier (Secret Service): the passphrase stored by `passphrase to-keyring` for this vault and home.
 * Absent without an entry or a session bus; a locked or unreachable keyring is reported by probe, and in
 * fetch is warned about (ctx.warn) and treated as absent, so the chain goes on to the next tier.
 */
export const keyringTier: Tier = {
  name: 'keyring',
  async probe(ctx): Promise<TierStatus> {
    const scope = vaultScope(ctx.paths);
    if (!scope) return { tier: 'keyring', state: 'absent', detail: 'no vault' };
    const loc = await locateKeyring(ctx.env, scope);
    const state = loc.state === 'present' ? 'present' : loc.state === 'absent' ? 'absent' : 'unusable';
    return loc.detail ? { tier: 'keyring', state, detail: loc.detail } : { tier: 'keyring', state };
  },
  async fetch(ctx) {
    const scope = vaultScope(ctx.paths);
    if (!scope || !sessionBusAvailable(ctx.env)) return null;
    try {
      return await readKeyring(scope);
    } catch (e) {
      if (!(e instanceof SesameError)) throw e;
      if (!/no usable Secret Service/.test(e.message)) ctx.warn(`${e.message}; trying the next unlock source`);
      return null;
    }
  },
};
