/**
 * The operations behind `unlock`, `lock` and `passphrase seal | to-keyring | destroy`:
 * each resolves the passphrase through the chain, VALIDATES it against the vault before
 * writing anything anywhere, writes, reads back, and only then removes what it replaces.
 *
 * Contract: passphrases stay in Buffers that are wiped before returning; nothing here
 * prints, prompts (the prompt comes in the ChainContext) or exits.
 */
import { SesameError } from '../errors.js';
import { readVault } from '../vault/store.js';
import { UnlockedVault } from '../vault/vault.js';
import type { VaultDoc } from '../vault/format.js';
import { equalBytes, wipe } from '../crypto/sodium.js';
import { attributeWrongPassphrase, loadChain, resolvePassphrase, TIER_LABELS, type ChainContext, type TierName } from './chain.js';
import { homeTag, tierScopeOf, type TierScope } from './store-names.js';
import { clearSession, readSession, runtimeDir, sessionStore, storeSession, type SessionStore } from './session.js';
import { removeSealed, sealedExists, sealedPath, sealPassphrase, systemdCreds, type SealKey } from './sealed.js';
import { deleteKeyring, locateKeyring, sessionBusAvailable, writeKeyring } from './keyring.js';
import { isAcknowledged, recordSealedKey } from './state.js';

export interface Resolved {
  passphrase: Buffer;
  tier: TierName;
}

/** The chain without `skip`, validated: WRONG_PASSPHRASE (naming the tier) writes nothing. */
export async function resolveValid(ctx: ChainContext, doc: VaultDoc, skip: TierName[]): Promise<Resolved> {
  const r = await resolvePassphrase(
    ctx,
    (await loadChain(ctx.order)).filter((t) => !skip.includes(t.name)),
  );
  try {
    UnlockedVault.unlock(doc, r.passphrase).dispose();
  } catch (e) {
    wipe(r.passphrase);
    throw attributeWrongPassphrase(e, r.tier);
  }
  return r;
}

/** The durable tiers that hold an entry for this vault (sealed file; keyring entry, even locked). */
async function durableTiers(ctx: ChainContext, scope: TierScope): Promise<TierName[]> {
  const out: TierName[] = [];
  if (sealedExists(ctx.paths, scope.vaultId)) out.push('sealed');
  const k = await locateKeyring(ctx.env, scope);
  if (k.state === 'present' || k.state === 'locked') out.push('keyring');
  else if (k.state === 'unreachable') ctx.warn(`could not check the OS keyring: ${k.detail ?? 'no answer'}`);
  return out;
}

/**
 * `unlock`: takes the passphrase from SESAME_PASSPHRASE, SESAME_PASSPHRASE_FILE,
 * passphrase_command or the prompt (never from the tiers it would shadow), validates it,
 * stores it in the session tier and reads it back. Refuses (USAGE) to shadow a durable tier
 * unless `force`.
 */
export async function unlockSession(ctx: ChainContext, force: boolean): Promise<{ tier: TierName; store: SessionStore }> {
  const doc = readVault(ctx.paths);
  const scope = tierScopeOf(ctx.paths, doc);
  if (!force) {
    const durable = await durableTiers(ctx, scope);
    if (durable.length) {
      throw new SesameError('USAGE', `unlock would shadow ${durable.map((t) => TIER_LABELS[t]).join(' and ')}: the session tier is read first`, {
        hint: 'the vault already unlocks without a prompt; pass --force to cache the passphrase for this session anyway',
      });
    }
  }
  if (sessionStore(ctx.env) === 'file') runtimeDir(ctx.env, false); // can we store at all? ask nothing otherwise
  const r = await resolveValid(ctx, doc, ['session', 'sealed', 'keyring']);
  try {
    const store = storeSession(ctx.env, scope, r.passphrase);
    const back = readSession(ctx.env, scope);
    const ok = equalBytes(back, r.passphrase);
    wipe(back);
    if (!ok) throw new SesameError('ERROR', 'the session tier did not return what was stored');
    return { tier: r.tier, store };
  } finally {
    wipe(r.passphrase);
  }
}

/** `lock`'s first half: removes every session entry of this home. Returns how many. */
export function lockSession(ctx: ChainContext): number {
  return clearSession(ctx.env, homeTag(ctx.paths));
}

/** Machine-bound tiers need the passphrase acknowledged as saved elsewhere (or `yes`). */
export function requireAcknowledged(ctx: ChainContext, doc: VaultDoc, yes: boolean, what: string): void {
  if (yes || isAcknowledged(ctx.paths, doc)) return;
  throw new SesameError('USAGE', `${what} would keep the passphrase only on this machine, and it was never marked as saved elsewhere`, {
    remedy: 'passphrase_acknowledge',
  });
}

/** `passphrase seal`: validate, seal (encrypt, read back), record the key choice. */
export async function sealFromChain(ctx: ChainContext, key: SealKey, yes: boolean): Promise<{ tier: TierName; path: string }> {
  const doc = readVault(ctx.paths);
  requireAcknowledged(ctx, doc, yes, 'sealing');
  systemdCreds(ctx.env); // installed? ask nothing otherwise
  const r = await resolveValid(ctx, doc, ['sealed']);
  try {
    await sealPassphrase(ctx.paths, doc.vault_id, ctx.env, r.passphrase, key);
    recordSealedKey(ctx.paths, key);
    return { tier: r.tier, path: sealedPath(ctx.paths, doc.vault_id) };
  } finally {
    wipe(r.passphrase);
  }
}

/**
 * `passphrase to-keyring`: validate, write to the keyring, read back and compare, and only
 * then remove the source when it is a tier sesame manages (session or sealed). On any
 * failure the source is left exactly as it was.
 */
export async function moveToKeyring(ctx: ChainContext, yes: boolean): Promise<{ tier: TierName; removedSource: boolean }> {
  const doc = readVault(ctx.paths);
  const scope = tierScopeOf(ctx.paths, doc);
  requireAcknowledged(ctx, doc, yes, 'moving it to the OS keyring');
  if (!sessionBusAvailable(ctx.env)) {
    throw new SesameError('UNAVAILABLE', 'no D-Bus session bus: the OS keyring cannot be reached', { hint: 'run it inside your desktop session (DBUS_SESSION_BUS_ADDRESS must be set)' });
  }
  const r = await resolveValid(ctx, doc, ['keyring']);
  try {
    await writeKeyring(scope, r.passphrase).catch((e: unknown) => {
      const m = e instanceof SesameError ? e.message : String(e);
      throw new SesameError('UNAVAILABLE', `could not store the passphrase in the OS keyring: ${m}; ${TIER_LABELS[r.tier]} was left as it was`);
    });
  } finally {
    wipe(r.passphrase);
  }
  let removedSource = false;
  if (r.tier === 'session') removedSource = lockSession(ctx) > 0;
  if (r.tier === 'sealed') removedSource = removeSealed(ctx.paths, scope.vaultId);
  return { tier: r.tier, removedSource };
}

/** The persistent tiers holding an entry now (what `destroy` would remove). */
export async function persistentTiers(ctx: ChainContext): Promise<TierName[]> {
  return durableTiers(ctx, tierScopeOf(ctx.paths, readVault(ctx.paths)));
}

/** `passphrase destroy` (after the CLI's confirmation): removes the sealed file and the keyring entry. */
export async function destroyPersistent(ctx: ChainContext): Promise<{ removed: TierName[]; failed: Array<{ tier: TierName; message: string }> }> {
  const scope = tierScopeOf(ctx.paths, readVault(ctx.paths));
  const removed: TierName[] = [];
  const failed: Array<{ tier: TierName; message: string }> = [];
  try {
    if (removeSealed(ctx.paths, scope.vaultId)) removed.push('sealed');
  } catch (e) {
    failed.push({ tier: 'sealed', message: (e as Error).message });
  }
  if (sessionBusAvailable(ctx.env)) {
    try {
      if (await deleteKeyring(scope)) removed.push('keyring');
    } catch (e) {
      if (!/no usable Secret Service/.test((e as Error).message)) failed.push({ tier: 'keyring', message: (e as Error).message });
    }
  }
  return { removed, failed };
}
