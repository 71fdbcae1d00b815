/**
 * The CLI's side of the audit log: one call per event from the commands that write (init,
 * set, rm, import), unlock and lock, and change passphrase tiers. The record is keyed when
 * the command had the vault key (`master`, or a key kept by `holdAuditKey`), else chained
 * but unkeyed. An owner's command never fails because its record could not be written: the
 * change is already made, so it warns loudly on stderr instead (core/audit/log.ts
 * `appendOrDeny`, owner branch). Reads are audited by the access door, not here.
 */
import type { Ctx } from './context.js';
import type { AuditInput } from '../core/audit/record.js';
import type { AuditKey } from '../core/audit/log.js';
import type { SecureKey } from '../core/crypto/sodium.js';
import type { UnlockedVault } from '../core/vault/vault.js';
import { warn } from './output.js';

let held: AuditKey | undefined;

/** `SESAME_AUDIT_MAX_BYTES`: the rotation size (default 10 MiB; at least 4 KiB). */
export function auditMaxBytes(env: NodeJS.ProcessEnv): number | undefined {
  const n = Number(env.SESAME_AUDIT_MAX_BYTES);
  return env.SESAME_AUDIT_MAX_BYTES !== undefined && Number.isSafeInteger(n) && n >= 4096 ? n : undefined;
}

/** Keeps the audit subkey of an unlocked vault's master key for this process's later records (audited-unlock.ts). */
export async function holdAuditKey(v: UnlockedVault): Promise<UnlockedVault> {
  const { AuditKey } = await import('../core/audit/log.js');
  held?.dispose();
  held = AuditKey.fromMaster(v.master);
  return v;
}

/** Records one CLI event (via cli, this process as the peer). Never throws: a failure warns. */
export async function auditEvent(ctx: Ctx, input: Omit<AuditInput, 'via' | 'peer'>, master?: SecureKey): Promise<void> {
  try {
    const { AuditLog, AuditKey, appendOrDeny } = await import('../core/audit/log.js');
    const key = master && !master.disposed ? AuditKey.fromMaster(master) : held;
    const max = auditMaxBytes(ctx.env);
    const log = new AuditLog(ctx.paths.home, key, max ? { maxBytes: max } : {});
    const peer = { uid: typeof process.getuid === 'function' ? process.getuid() : 0, pid: process.pid, exe: process.execPath };
    try {
      appendOrDeny(log, { ...input, via: 'cli', peer }, { delegated: false, warn });
    } finally {
      if (key && key !== held) key.dispose();
    }
  } catch (e) {
    warn(`this event was NOT recorded in the audit log: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Records a failed unlock (unkeyed: there is no key) with the error's code as the reason. */
export async function auditFailedUnlock(ctx: Ctx, e: unknown): Promise<void> {
  const code = e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code.toLowerCase() : 'error';
  await auditEvent(ctx, { event: 'unlock', outcome: code === 'wrong_passphrase' ? 'denied' : 'error', reason: code });
}
