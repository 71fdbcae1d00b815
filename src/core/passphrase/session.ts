/**
 * The session tier: the passphrase cached for this login session by `sesame unlock`,
 * cleared by `sesame lock`, and never on persistent disk.
 *
 * Stores, in order of preference:
 *   - kernel: a "user" key `sesame:session:<homeTag>:<vault_id>` in the caller's kernel
 *     SESSION keyring (add_key/keyctl through src/core/os/native.ts). Readable only by
 *     processes that possess it (this login session and its children); gone when the
 *     session keyring is revoked at logout, and at reboot.
 *   - file: `$XDG_RUNTIME_DIR/sesame/session-<homeTag>-<vault_id>`, 0600 in a 0700
 *     directory, accepted only when XDG_RUNTIME_DIR is ours, 0700 and a tmpfs/ramfs.
 * SESAME_SESSION_STORE=kernel|file forces one store (default: kernel when usable).
 * Reading looks in both, kernel first; clearing clears both.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SesameError } from '../errors.js';
import { ensurePrivateDir, readPrivateFile, removeFile, writeFileAtomic } from '../fs/secure.js';
import { keyAdd, keyDescribe, keyInvalidate, keyRead, keySearch, keyringList, sessionKeyringId } from '../os/native.js';
import type { Tier, TierStatus } from './chain.js';
import { vaultScope, type TierScope } from './store-names.js';

export type SessionStore = 'kernel' | 'file';
const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

const keyDesc = (s: TierScope): string => `sesame:session:${s.homeTag}:${s.vaultId}`;

/** Which store `unlock` writes to (the file store's own checks come with runtimeDir). */
export function sessionStore(env: NodeJS.ProcessEnv): SessionStore {
  const forced = env.SESAME_SESSION_STORE;
  if (forced !== undefined && forced !== '' && forced !== 'kernel' && forced !== 'file') {
    throw new SesameError('USAGE', `SESAME_SESSION_STORE must be "kernel" or "file", not ${JSON.stringify(forced)}`);
  }
  if (forced === 'file') return 'file';
  if (kernelRing() !== null) return 'kernel';
  if (forced === 'kernel') throw new SesameError('UNAVAILABLE', 'SESAME_SESSION_STORE=kernel but the kernel keyring cannot be used here');
  return 'file';
}

/** The session keyring's serial, or null when the kernel store is not usable or not wanted. */
function kernelRing(env?: NodeJS.ProcessEnv): number | null {
  if (process.platform !== 'linux' || env?.SESAME_SESSION_STORE === 'file') return null;
  return sessionKeyringId();
}

/**
 * The private directory for session files inside XDG_RUNTIME_DIR (created 0700). Refuses an
 * unset, foreign, loose or disk-backed runtime directory: the passphrase must stay in RAM.
 */
export function runtimeDir(env: NodeJS.ProcessEnv, create: boolean): string {
  const base = env.XDG_RUNTIME_DIR;
  if (!base || !path.isAbsolute(base)) {
    throw new SesameError('UNAVAILABLE', 'the session file store needs XDG_RUNTIME_DIR (a tmpfs) and it is not set: nowhere to keep the passphrase off disk', {
      hint: 'log in through a session manager that sets XDG_RUNTIME_DIR (systemd-logind), or use the agent',
    });
  }
  ensurePrivateDir(base, { create: false, what: 'XDG_RUNTIME_DIR' });
  const type = fs.statfsSync(base).type;
  if (type !== TMPFS_MAGIC && type !== RAMFS_MAGIC) {
    throw new SesameError('INSECURE', `XDG_RUNTIME_DIR ${base} is not a tmpfs: a session file there would reach the disk`, {
      hint: 'point XDG_RUNTIME_DIR at a tmpfs (normally /run/user/UID)',
    });
  }
  const dir = path.join(base, 'sesame');
  if (create) ensurePrivateDir(dir, { create: true, what: 'session directory' });
  return dir;
}

const sessionFile = (dir: string, s: TierScope): string => path.join(dir, `session-${s.id}`);

/** Stores the passphrase for this vault in the session; returns the store used. */
export function storeSession(env: NodeJS.ProcessEnv, scope: TierScope, pass: Buffer): SessionStore {
  const store = sessionStore(env);
  if (store === 'kernel') {
    keyAdd(keyDesc(scope), pass, kernelRing()!);
  } else {
    writeFileAtomic(sessionFile(runtimeDir(env, true), scope), pass);
  }
  return store;
}

/** Reads this vault's session passphrase (caller wipes); null when none is stored. */
export function readSession(env: NodeJS.ProcessEnv, scope: TierScope): Buffer | null {
  const ring = kernelRing(env);
  if (ring !== null) {
    const id = keySearch(ring, keyDesc(scope));
    const v = id === null ? null : keyRead(id);
    if (v) return v;
  }
  const dir = fileDirIfAny(env);
  return dir ? readPrivateFile(sessionFile(dir, scope), 'session file') : null;
}

/** Where this vault's session entry is, without reading it; null when there is none. */
export function locateSession(env: NodeJS.ProcessEnv, scope: TierScope): SessionStore | null {
  const ring = kernelRing(env);
  if (ring !== null && keySearch(ring, keyDesc(scope)) !== null) return 'kernel';
  const dir = fileDirIfAny(env);
  if (!dir) return null;
  const f = sessionFile(dir, scope);
  const st = fs.lstatSync(f, { throwIfNoEntry: false });
  if (!st) return null;
  if (!st.isFile() || st.mode & 0o077) throw new SesameError('INSECURE', `session file ${f} is not a private regular file`, { hint: `remove it: rm '${f}'` });
  return 'file';
}

/** The runtime directory when one is set up and safe; null when there is nothing to look at. */
function fileDirIfAny(env: NodeJS.ProcessEnv): string | null {
  if (!env.XDG_RUNTIME_DIR) return null;
  const dir = path.join(env.XDG_RUNTIME_DIR, 'sesame');
  if (!fs.existsSync(dir)) return null;
  return runtimeDir(env, false);
}

/**
 * Removes every session entry of this home (any vault id: also those of a vault that was
 * re-initialised). Returns how many were removed. Other homes' entries are left alone.
 */
export function clearSession(env: NodeJS.ProcessEnv, homeTagValue: string): number {
  let n = 0;
  const ring = kernelRing();
  if (ring !== null) {
    const prefix = `sesame:session:${homeTagValue}:`;
    for (const id of keyringList(ring)) {
      const d = keyDescribe(id);
      if (d && d.type === 'user' && d.desc.startsWith(prefix)) {
        keyInvalidate(id);
        n++;
      }
    }
  }
  const dir = env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'sesame') : null;
  if (dir && fs.existsSync(dir)) {
    for (const name of fs.readdirSync(dir)) {
      if (name.startsWith(`session-${homeTagValue}-`) && removeFile(path.join(dir, name))) n++;
    }
  }
  return n;
}

/**
 * The session tier: the passphrase `unlock` left in the kernel session keyring (else a tmpfs file) for this
 * vault and home. Absent when none is stored; never on persistent disk.
 */
export const sessionTier: Tier = {
  name: 'session',
  async probe(ctx): Promise<TierStatus> {
    const scope = vaultScope(ctx.paths);
    if (!scope) return { tier: 'session', state: 'absent', detail: 'no vault' };
    const where = locateSession(ctx.env, scope);
    if (!where) return { tier: 'session', state: 'absent' };
    return { tier: 'session', state: 'present', detail: where === 'kernel' ? 'kernel session keyring' : 'file in XDG_RUNTIME_DIR' };
  },
  async fetch(ctx) {
    const scope = vaultScope(ctx.paths);
    return scope ? readSession(ctx.env, scope) : null;
  },
};
