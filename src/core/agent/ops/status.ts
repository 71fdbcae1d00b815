/**
 * `status`: the agent's self-description (never secret). Version 1 gets Part 1's object
 * unchanged; version 2 adds `protocols`, the `ops` served on the caller's listener and the
 * `listener` itself, with `protocol` the highest version spoken, and `features` (what a
 * client may send beyond the ops: `client`) (docs/spec/agent-protocol.md, "status (version 2)").
 *
 * What a delegated caller sees: a caller on a profile or cell socket, or one presenting a
 * scoped token, gets `listeners` narrowed to its own socket and no `tokens_last_used` — other
 * profiles' names and token ids are not its business (out of scope looks like nonexistent).
 */
import { PROTOCOLS } from '../protocol.js';
import type { ListenerRef, Scope } from '../../policy/caller.js';
import type { OpContext, Reply } from './context.js';

/** What this agent accepts beyond the ops (v2 `status.features`): `client` — the optional `client` member on every v2 request (protocol-v2.ts `clientArg`). */
export const FEATURES: readonly string[] = Object.freeze(['client']);

function unrestricted(s: Scope): boolean {
  return s.projects === undefined && s.keys === undefined && s.ops === undefined;
}

/** True when a `listeners` entry ({kind, name?, socket}) is the listener `l`. */
function sameListener(x: unknown, l: ListenerRef): boolean {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as { kind?: unknown; name?: unknown };
  return e.kind === l.kind && e.name === l.name;
}

/** The agent's status reply for the framer's protocol version (v2 adds protocols, ops and listener). Never secret; never rejects. */
export function status(ctx: OpContext): Promise<Reply> {
  const s = ctx.status();
  if (ctx.framer.version === 1) return Promise.resolve({ line: ctx.framer.ok({ status: s }), secret: false });
  const l = ctx.access.caller.listener;
  const listener = l.name === undefined ? { kind: l.kind } : { kind: l.kind, name: l.name };
  const extra = { ...(ctx.statusV2?.() ?? {}) };
  const c = ctx.access.caller;
  if (c.listener.kind !== 'owner' || (c.token && !unrestricted(c.token.scope))) {
    delete extra.tokens_last_used;
    if (Array.isArray(extra.listeners)) extra.listeners = extra.listeners.filter((x) => sameListener(x, l));
  }
  const v2 = { ...s, ...extra, protocol: PROTOCOLS[PROTOCOLS.length - 1], protocols: [...PROTOCOLS], ops: [...ctx.ops], listener, features: [...FEATURES] };
  return Promise.resolve({ line: ctx.framer.ok({ status: v2 }), secret: false });
}
