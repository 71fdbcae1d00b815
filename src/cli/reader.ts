/**
 * Where read commands (get, env, run) get secrets: a reachable agent first (no prompt, no
 * Argon2id, no libsodium or koffi loaded), else a direct unlock. `--no-agent` or
 * SESAME_NO_AGENT=1 skips the agent. Either way values come through the plaintext door
 * (src/core/access.ts): the agent's ops use it, and so does the direct branch here. Both
 * record every read in the audit log (docs/spec/audit-log.md): the agent with its own
 * audit key, the direct branch here with the one of the vault it unlocked.
 */
import type { Ctx } from './context.js';
import { agentReader } from './agent-reader.js';
import type { SecretReader } from './secret-reader.js';
import { auditMaxBytes } from './audit-event.js';
import { warn } from './output.js';

export type { SecretReader };

/**
 * The reader for `ctx`: the agent when one answers, else a direct unlock. `beforeUnlock`
 * runs on the direct path before any passphrase is asked or key derived (get checks the
 * names there); the agent answers for itself.
 */
export async function openReader(ctx: Ctx, opts: { beforeUnlock?: () => Promise<void> } = {}): Promise<SecretReader> {
  if (!ctx.noAgent) {
    const { connectAgent } = await import('../core/agent/client.js');
    const client = await connectAgent(ctx.paths.agentSock, ctx.env);
    if (client) return agentReader(client);
  }
  const { unlockDirect } = await import('./direct-unlock.js');
  const { directContext, readOne, readSelected, vaultSource } = await import('../core/access.js');
  const { AuditKey, AuditLog } = await import('../core/audit/log.js');
  const { auditHook } = await import('../core/audit/access-hook.js');
  await opts.beforeUnlock?.();
  const v = await unlockDirect(ctx);
  // Direct reads go through the plaintext door like the agent's: the owner, via the CLI,
  // each recorded (keyed with the audit subkey of this vault's master key). The owner's read
  // is never refused for want of a record: it warns loudly on stderr instead.
  const key = AuditKey.fromMaster(v.master);
  const max = auditMaxBytes(ctx.env);
  const log = new AuditLog(ctx.paths.home, key, max ? { maxBytes: max } : {});
  const access = { ...directContext(), hooks: { audit: auditHook(log, warn) } };
  const src = vaultSource(v);
  return {
    via: 'direct',
    get: (project, key) => readOne(access, src, project, key),
    getSelected: (project, sel) => readSelected(access, src, project, sel),
    close: () => {
      key.dispose();
      v.dispose();
    },
  };
}
