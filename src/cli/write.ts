/**
 * The CLI's one way to change keys: a WriteOp (core/vault/writes.ts) applied under the vault
 * lock with the key from a direct unlock, then recorded in the audit log. Names are checked
 * on the document (no key needed) before any passphrase is asked for.
 */
import type { Ctx } from './context.js';
import type { WriteOp, WriteResult } from '../core/vault/writes.js';
import type { VaultDoc } from '../core/vault/format.js';

/** The vault document for name checks before unlocking (NOT_INITIALIZED, no prompt). */
export async function docForChecks(ctx: Ctx): Promise<VaultDoc> {
  const { readVault } = await import('../core/vault/store.js');
  return readVault(ctx.paths);
}

/** Applies `w` (direct unlock, the vault lock, an atomic write) and audits it; returns what happened. */
export async function runWrite(ctx: Ctx, w: WriteOp): Promise<WriteResult> {
  const { unlockDirect } = await import('./direct-unlock.js');
  const v = await unlockDirect(ctx);
  try {
    const { writeVault } = await import('../core/vault/writes.js');
    const r = writeVault(ctx.paths, v.master, ctx.env, w);
    await (await import('./audit-event.js')).auditEvent(ctx, { event: r.event, outcome: 'ok', reason: r.result, project: r.project, keys: r.keys }, v.master);
    return r;
  } finally {
    v.dispose();
  }
}
