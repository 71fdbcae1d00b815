/**
 * `get KEY --version N`: one earlier value, read directly (a passphrase unlock; the agent's
 * protocol has no history read) through the plaintext door (core/access.ts readVersion),
 * audited like every direct read.
 */
import type { Ctx } from './context.js';
import { auditMaxBytes } from './audit-event.js';
import { warn } from './output.js';
import type { UnlockedVault } from '../core/vault/vault.js';

/** The current value of `key` through the plaintext door with a vault this process unlocked (audited like every direct read); the caller wipes it. */
export async function readDirect(ctx: Ctx, v: UnlockedVault, project: string, key: string): Promise<Buffer> {
  const { directContext, readOne, vaultSource } = await import('../core/access.js');
  const { AuditKey, AuditLog } = await import('../core/audit/log.js');
  const { auditHook } = await import('../core/audit/access-hook.js');
  const akey = AuditKey.fromMaster(v.master);
  try {
    const max = auditMaxBytes(ctx.env);
    const log = new AuditLog(ctx.paths.home, akey, max ? { maxBytes: max } : {});
    return await readOne({ ...directContext(), hooks: { audit: auditHook(log, warn) } }, vaultSource(v), project, key);
  } finally {
    akey.dispose();
  }
}

/** Version `version` of `key` in `project`; the caller wipes the Buffer. NOT_FOUND names a version the history does not keep. */
export async function readVersionDirect(ctx: Ctx, project: string, key: string, version: number): Promise<Buffer> {
  const { readVault } = await import('../core/vault/store.js');
  const { historyOf } = await import('../core/vault/history.js');
  const h = historyOf(readVault(ctx.paths), project, key); // names and versions before any passphrase
  if (!h.removed_at && !h.versions.some((v) => v.version === version)) {
    const { versionNotFound } = await import('../core/vault/vault.js');
    throw versionNotFound(project, key, version);
  }
  const { unlockDirect } = await import('./direct-unlock.js');
  const { directContext, readVersion, vaultSource } = await import('../core/access.js');
  const { AuditKey, AuditLog } = await import('../core/audit/log.js');
  const { auditHook } = await import('../core/audit/access-hook.js');
  const v = await unlockDirect(ctx);
  const akey = AuditKey.fromMaster(v.master);
  try {
    const max = auditMaxBytes(ctx.env);
    const log = new AuditLog(ctx.paths.home, akey, max ? { maxBytes: max } : {});
    return await readVersion({ ...directContext(), hooks: { audit: auditHook(log, warn) } }, vaultSource(v), project, key, version);
  } finally {
    akey.dispose();
    v.dispose();
  }
}
