/**
 * The CLI's one way to change keys: a WriteOp (core/vault/writes.ts). When the owner's agent
 * runs with --writes, the write goes through it (no passphrase; the agent runs the same
 * writeVault under the vault lock and audits it). Otherwise — no agent, a read-only agent,
 * --no-agent, or a token/delegated environment, which never writes through the agent — the
 * key comes from a direct unlock and the write is made here, then recorded in the audit log.
 * A write too large for one request line (a set's value over MAX_AGENT_VALUE, an import over
 * about 63 KiB of names and base64 values) is made directly too.
 * Names are checked on the document (no key needed) before any passphrase is asked for.
 */
import type { Ctx } from './context.js';
import type { WriteOp, WriteResult } from '../core/vault/writes.js';
import type { VaultDoc } from '../core/vault/format.js';
import type { UnlockedVault } from '../core/vault/vault.js';
import { SesameError } from '../core/errors.js';

/** The largest value `set` sends through a --writes agent (its base64 must fit a 64 KiB request line); larger ones unlock directly. */
const MAX_AGENT_VALUE = 45 * 1024;

/** The vault document for name checks before unlocking (NOT_INITIALIZED, no prompt). */
export async function docForChecks(ctx: Ctx): Promise<VaultDoc> {
  const { readVault } = await import('../core/vault/store.js');
  return readVault(ctx.paths);
}

/**
 * Applies `w` through a --writes agent, else directly (direct unlock, the vault lock, an
 * atomic write), and audits it; returns what happened. When a read-only agent runs and no
 * passphrase can be read, LOCKED says so ("the agent is read-only…") rather than "locked".
 */
export async function runWrite(ctx: Ctx, w: WriteOp, opts: { vault?: UnlockedVault } = {}): Promise<WriteResult> {
  if (opts.vault) return directWrite(ctx, w, opts.vault);
  let readOnlyAgent = false;
  // A request line is at most 64 KiB (protocol.ts MAX_REQUEST_BYTES): a larger value, or an
  // import whose values do not fit one line, is written directly — never split, since an
  // import is all or nothing.
  const { writeLineFits } = await import('../core/agent/ops/write-wire.js');
  const fits = w.op === 'set' ? w.value.length <= MAX_AGENT_VALUE : writeLineFits(w);
  if (fits && ownerAgentMayWrite(ctx)) {
    const { connectAgent } = await import('../core/agent/client.js');
    const client = await connectAgent(ctx.paths.agentSock, ctx.env);
    if (client) {
      const { agentWrite, isReadOnlyAnswer } = await import('../core/agent/write-client.js');
      try {
        return await agentWrite(client, w);
      } catch (e) {
        if (!isReadOnlyAnswer(e)) throw e;
        readOnlyAgent = true;
      } finally {
        client.close();
      }
    }
  }
  const { unlockDirect } = await import('./direct-unlock.js');
  let v: Awaited<ReturnType<typeof unlockDirect>>;
  try {
    v = await unlockDirect(ctx);
  } catch (e) {
    if (readOnlyAgent && e instanceof SesameError && e.code === 'LOCKED') {
      throw new SesameError('LOCKED', 'the agent is read-only; start it with --writes, or type the passphrase', { remedy: 'agent_writes' });
    }
    throw e;
  }
  try {
    return await directWrite(ctx, w, v);
  } finally {
    v.dispose();
  }
}

/** The write with a vault this process unlocked (not disposed here), audited with its key. */
async function directWrite(ctx: Ctx, w: WriteOp, v: UnlockedVault): Promise<WriteResult> {
  const { writeVault } = await import('../core/vault/writes.js');
  const r = writeVault(ctx.paths, v.master, ctx.env, w);
  await (await import('./audit-event.js')).auditEvent(ctx, { event: r.event, outcome: 'ok', reason: r.result, project: r.project, keys: r.keys }, v.master);
  return r;
}

/** The owner's own CLI (no token, not delegated, agent not turned off) may write through the agent. */
function ownerAgentMayWrite(ctx: Ctx): boolean {
  return !ctx.noAgent && ctx.env.SESAME_AGENT_TOKEN === undefined && ctx.env.SESAME_AGENT_DELEGATED !== '1';
}

/**
 * true when the owner's agent answers and serves `write` (started with --writes): `set` on a
 * terminal then needs no passphrase, so it does not unlock before asking for the value.
 */
export async function agentTakesWrites(ctx: Ctx): Promise<boolean> {
  if (!ownerAgentMayWrite(ctx)) return false;
  const { connectAgent } = await import('../core/agent/client.js');
  const client = await connectAgent(ctx.paths.agentSock, ctx.env);
  if (!client) return false;
  try {
    const st = await client.status();
    return Array.isArray(st.ops) && st.ops.includes('write');
  } catch {
    return false;
  } finally {
    client.close();
  }
}
