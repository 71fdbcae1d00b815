/**
 * `passphrase change`: re-wraps the master key under a new passphrase (no secret is
 * re-encrypted, a running agent keeps serving with the same key), then rewrites every tier
 * sesame manages that held an entry: session, OS keyring, sealed credential.
 *
 * Recoverability: the vault is committed first (atomic). If a tier then fails, it is
 * reported and the new passphrase is also put in the session tier (RAM only), so it stays
 * readable (`passphrase reveal`) and usable until every tier is fixed. Sources the user
 * manages (SESAME_PASSPHRASE, SESAME_PASSPHRASE_FILE, passphrase_command) cannot be
 * rewritten by sesame and are listed as stale.
 */
import { SesameError } from '../errors.js';
import { readVault, mutateVault } from '../vault/store.js';
import { UnlockedVault } from '../vault/vault.js';
import { equalBytes, wipe } from '../crypto/sodium.js';
import { loadConfig } from '../config.js';
import { attributeWrongPassphrase, resolvePassphrase, type ChainContext, type TierName } from './chain.js';
import { homeTag, tierScopeOf, type TierScope } from './store-names.js';
import { clearSession, locateSession, readSession, storeSession } from './session.js';
import { sealedExists, sealPassphrase } from './sealed.js';
import { locateKeyring, writeKeyring } from './keyring.js';
import { sealedKey } from './state.js';

export interface ChangeReport {
  /** The tier the old passphrase came from. */
  from: TierName;
  rewritten: TierName[];
  failed: Array<{ tier: TierName; message: string }>;
  /** When a tier failed: whether the session tier now holds the new passphrase. */
  recoveryInSession: boolean | null;
  /** User-managed sources that still give the old passphrase. */
  stale: TierName[];
}

export interface OpenedForChange {
  vault: UnlockedVault;
  from: TierName;
  old: Buffer;
}

/** Resolves the current passphrase through the whole chain and opens the vault with it. */
export async function openForChange(ctx: ChainContext): Promise<OpenedForChange> {
  const doc = readVault(ctx.paths);
  const r = await resolvePassphrase(ctx);
  try {
    return { vault: UnlockedVault.unlock(doc, r.passphrase), from: r.tier, old: r.passphrase };
  } catch (e) {
    wipe(r.passphrase);
    throw attributeWrongPassphrase(e, r.tier);
  }
}

/** A new passphrase must be non-empty, one line, no NUL, and differ from the old one. */
export function checkNewPassphrase(next: Buffer, old: Buffer): void {
  if (next.length === 0) throw new SesameError('INVALID', 'the new passphrase is empty; nothing was changed');
  if (next.includes(0) || next.includes(0x0a) || next.includes(0x0d)) throw new SesameError('INVALID', 'the new passphrase contains a line break or NUL; nothing was changed');
  if (equalBytes(old, next)) throw new SesameError('INVALID', 'the new passphrase is the same as the old one; nothing was changed');
}

/** Commits the change and rewrites the tiers. Disposes the vault and wipes `old`; the caller wipes `next`. */
export async function applyChange(ctx: ChainContext, opened: OpenedForChange, next: Buffer): Promise<ChangeReport> {
  const { vault, from, old } = opened;
  try {
    checkNewPassphrase(next, old);
    const scope = tierScopeOf(ctx.paths, vault.doc);
    const held = await heldTiers(ctx, scope);
    mutateVault(ctx.paths, vault.master, ctx.env, (w) => {
      w.changePassphrase(next);
    });
    const report: ChangeReport = { from, rewritten: [], failed: [], recoveryInSession: null, stale: staleSources(ctx) };
    for (const tier of held) {
      try {
        await rewrite(ctx, scope, tier, next);
        report.rewritten.push(tier);
      } catch (e) {
        report.failed.push({ tier, message: e instanceof Error ? e.message : String(e) });
      }
    }
    if (report.failed.length) report.recoveryInSession = report.rewritten.includes('session') || keepInSession(ctx, scope, next);
    return report;
  } finally {
    vault.dispose();
    wipe(old);
  }
}

async function heldTiers(ctx: ChainContext, scope: TierScope): Promise<TierName[]> {
  const held: TierName[] = [];
  if (locateSession(ctx.env, scope)) held.push('session');
  if ((await locateKeyring(ctx.env, scope)).state !== 'absent') held.push('keyring');
  if (sealedExists(ctx.paths, scope.vaultId)) held.push('sealed');
  return held;
}

async function rewrite(ctx: ChainContext, scope: TierScope, tier: TierName, next: Buffer): Promise<void> {
  if (tier === 'session') {
    putSession(ctx, scope, next);
  } else if (tier === 'keyring') {
    await writeKeyring(scope, next);
  } else if (tier === 'sealed') {
    await sealPassphrase(ctx.paths, scope.vaultId, ctx.env, next, sealedKey(ctx.paths));
  }
}

/** Replaces this home's session entries with `next` and reads it back. */
function putSession(ctx: ChainContext, scope: TierScope, next: Buffer): void {
  clearSession(ctx.env, homeTag(ctx.paths));
  storeSession(ctx.env, scope, next);
  const back = readSession(ctx.env, scope);
  const ok = equalBytes(back, next);
  wipe(back);
  if (!ok) throw new SesameError('ERROR', 'the session tier did not return what was stored');
}

function keepInSession(ctx: ChainContext, scope: TierScope, next: Buffer): boolean {
  try {
    putSession(ctx, scope, next);
    return true;
  } catch {
    return false;
  }
}

function staleSources(ctx: ChainContext): TierName[] {
  const out: TierName[] = [];
  if (ctx.env.SESAME_PASSPHRASE) out.push('env');
  if (ctx.env.SESAME_PASSPHRASE_FILE) out.push('file');
  try {
    if (loadConfig(ctx.paths).passphraseCommand) out.push('command');
  } catch {
    /* an invalid config is reported by status; it gives no passphrase either way */
  }
  return out;
}
