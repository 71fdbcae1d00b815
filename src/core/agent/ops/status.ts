/**
 * `status`: the agent's self-description (never secret). Version 1 gets Part 1's object
 * unchanged; version 2 adds `protocols`, the `ops` served on the caller's listener and the
 * `listener` itself, with `protocol` the highest version spoken (docs/spec/agent-protocol.md,
 * "status (version 2)").
 */
import { PROTOCOLS } from '../protocol.js';
import type { OpContext, Reply } from './context.js';

/** The agent's status reply for the framer's protocol version (v2 adds protocols, ops and listener). Never secret; never rejects. */
export function status(ctx: OpContext): Promise<Reply> {
  const s = ctx.status();
  if (ctx.framer.version === 1) return Promise.resolve({ line: ctx.framer.ok({ status: s }), secret: false });
  const l = ctx.access.caller.listener;
  const listener = l.name === undefined ? { kind: l.kind } : { kind: l.kind, name: l.name };
  const v2 = { ...s, ...(ctx.statusV2?.() ?? {}), protocol: PROTOCOLS[PROTOCOLS.length - 1], protocols: [...PROTOCOLS], ops: [...ctx.ops], listener };
  return Promise.resolve({ line: ctx.framer.ok({ status: v2 }), secret: false });
}
