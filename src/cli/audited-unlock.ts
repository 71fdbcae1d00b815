/**
 * unlockDirect that also keeps the audit subkey, for commands whose core call unlocks
 * through a callback (import): their record is then keyed. Kept apart from audit-event.ts,
 * which direct-unlock.ts imports (no cycle).
 */
import type { Ctx } from './context.js';
import type { UnlockedVault } from '../core/vault/vault.js';
import { holdAuditKey } from './audit-event.js';
import { unlockDirect } from './direct-unlock.js';

export { auditEvent } from './audit-event.js';

/** unlockDirect, keeping the audit subkey of the master key for this process's later records. */
export async function auditedUnlock(ctx: Ctx): Promise<UnlockedVault> {
  return holdAuditKey(await unlockDirect(ctx));
}
