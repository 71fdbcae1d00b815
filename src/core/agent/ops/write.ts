/**
 * The `write` op (`agent start --writes`; docs/spec/agent-protocol.md, "write"): the owner's
 * key changes through the agent, without the passphrase. Served only when the agent was
 * started with --writes, and authorized only for the owner on the owner socket without a
 * token (policy/authorize.ts, class `write`; checked again here). The agent applies the
 * change with core/vault/writes.ts `writeVault` — the very function the CLI's direct writes
 * call — under the vault lock, atomically, and records it in the audit log.
 *
 * Values: a `set` value, and every value of an `import` (several keys in one atomic write),
 * arrive decoded in off-heap Buffers (write-wire.ts `decodeWriteArgs`), which the op wipes
 * after the write.
 */
import { SesameError } from '../../errors.js';
import type { WriteOp, WriteResult } from '../../vault/writes.js';
import type { OpContext, Reply } from './context.js';

/** What the agent lends the `write` op: the one write path, run with its key under the vault lock. Absent when the agent is read-only. */
export type AgentWriter = (w: WriteOp, ctx: OpContext) => WriteResult;

/**
 * Runs one write for the owner. Refuses (DENIED, owner_only) anyone else — authorize already
 * did; this is the second lock on the door — and (DENIED, read_only) when the agent has no
 * writer. Wipes a set's value and an import's values whatever happens.
 */
export function write(ctx: OpContext, w: WriteOp, writer: AgentWriter | undefined): Promise<Reply> {
  try {
    if (!writer) {
      throw new SesameError('DENIED', 'the agent is read-only; start it with --writes, or type the passphrase', { remedy: 'agent_writes', detail: { reason: 'read_only' } });
    }
    const c = ctx.access.caller;
    if (c.listener.kind !== 'owner' || c.token || ctx.access.tokenPresented) {
      throw new SesameError('DENIED', 'denied: writes go only through the owner socket, without a token', {
        hint: 'run the command as the owner, without SESAME_AGENT_TOKEN',
        detail: { reason: 'owner_only' },
      });
    }
    const r = writer(w, ctx);
    return Promise.resolve({ line: ctx.framer.ok({ result: r.result, event: r.event, project: r.project, keys: r.keys, version: r.version ?? null, from: r.from ?? null }), secret: false });
  } finally {
    if (w.op === 'set') w.value.fill(0);
    if (w.op === 'import') for (const [, v] of w.entries) v.fill(0);
  }
}
