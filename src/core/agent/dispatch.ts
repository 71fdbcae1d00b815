/**
 * The agent's dispatcher: a validated, authorized request → its op (ops/*.ts) → one reply
 * (a v1 line or a v2 final frame, through the request's Framer). No op here exports a key;
 * the vault is written only by `write` (ops/write.ts), for the owner, through the writer
 * `agent start --writes` lends (absent: read-only); secret ops reach plaintext only through
 * the plaintext door (src/core/access.ts).
 *
 * Contract: resolves with exactly one Reply per request; a SesameError from an op becomes an
 * error reply. Anything else rejects (a bug): the connection answers it with a generic
 * ERROR and logs it. A Reply with `secret: true` must be written with `secret: true` or wiped.
 */
import { SesameError } from '../errors.js';
import type { Caller } from '../policy/caller.js';
import type { Policy } from '../policy/authorize.js';
import { pendingFrame, type AnyRequest, type Framer } from './protocol-v2.js';
import { approvalOp, type ApprovalDeps } from '../approval/ops.js';
import type { FrameStream, OpContext, PlaintextDoor, Reply, VaultSource } from './ops/context.js';
import type { PendingNotice } from '../access.js';
import { check } from './ops/check.js';
import { exec } from './ops/exec.js';
import { get } from './ops/get.js';
import { getfd } from './ops/getfd.js';
import { getSelected } from './ops/getselected.js';
import { list } from './ops/list.js';
import { status } from './ops/status.js';
import { stop } from './ops/stop.js';
import { write, type AgentWriter } from './ops/write.js';

export type { Reply } from './ops/context.js';

/** What the agent gives every request: its vault, its door, its self-description. */
export interface DispatchDeps {
  readonly src: VaultSource;
  readonly door: PlaintextDoor;
  /** Part 1's status members (never secret). */
  status(): Record<string, unknown>;
  /** Every socket the agent serves, for v2 `status` (`listeners`); never secret. */
  listeners?(): readonly unknown[];
  /** Debug-level agent log lines (the fd lifecycle); absent: none. Never a value. */
  debug?(msg: string): void;
  /** More v2 status members (`require_token`, `tokens_last_used`); ops/status.ts decides who sees which. Never secret. */
  statusV2?(): Record<string, unknown>;
  /** The owner's writes (`agent start --writes`; ops/write.ts); absent on a read-only agent. */
  readonly writer?: AgentWriter;
  /** The agent's own environment: the base of an exec's child environment (exec/env.ts picks a few names). */
  env?: NodeJS.ProcessEnv;
  /** Approvals and cells (src/core/approval/ops.ts); absent: those ops answer UNAVAILABLE. */
  readonly approvals?: ApprovalDeps;
}

/** What the connection knows about one request. */
export interface RequestContext {
  readonly caller: Caller;
  readonly policy: Policy;
  /** Aborted when the request is cancelled (the client left, or the connection failed). */
  readonly signal: AbortSignal;
  readonly framer: Framer;
  /** The ops served on the caller's listener, byte order. */
  readonly ops: readonly string[];
  /** The request carried a token (verified or not); the token itself is never passed on. */
  readonly tokenPresented?: boolean;
  /** v2: intermediate frames and exec controls for this request (conn.ts). */
  readonly stream?: FrameStream;
  /** Writes an intermediate frame of this request (v2; dropped once it is cancelled). */
  intermediate?(line: Buffer): void;
  /** On the cell socket: the SHA-256 of the `token` the request carried (the cell's token); the connection wipes it. */
  readonly cellToken?: Buffer;
}

/** Runs one request. See the module contract. */
export async function dispatch(req: AnyRequest, rc: RequestContext, deps: DispatchDeps): Promise<Reply> {
  const ctx: OpContext = {
    access: {
      caller: rc.caller,
      policy: rc.policy,
      signal: rc.signal,
      ...(rc.tokenPresented ? { tokenPresented: true } : {}),
      ...(req.v === 2 ? { request: String(req.id) } : {}),
      ...(req.v === 2 && req.client ? { client: req.client } : {}),
      ...(req.v === 2 && rc.intermediate ? { notify: (n: PendingNotice) => rc.intermediate?.(pendingFrame(req.id, 'approval', "waiting for the owner's approval", { ...n })) } : {}),
    },
    framer: rc.framer,
    src: deps.src,
    door: deps.door,
    ops: rc.ops,
    ...(rc.stream ? { stream: rc.stream } : {}),
    ...(deps.env ? { env: deps.env } : {}),
    status: () => deps.status(),
    ...(deps.debug
      ? {
          debug: (m: string) => {
            deps.debug?.(m);
          },
        }
      : {}),
    ...(deps.listeners || deps.statusV2 ? { statusV2: () => ({ ...(deps.statusV2?.() ?? {}), ...(deps.listeners ? { listeners: deps.listeners() } : {}) }) } : {}),
  };
  try {
    switch (req.op) {
      case 'status':
        return await status(ctx);
      case 'stop':
        return await stop(ctx);
      case 'get':
        return await get(ctx, req.project, req.key);
      case 'getfd':
        return await getfd(ctx, req.project, req.key, req.kind ?? 'best');
      case 'getselected':
        return await getSelected(ctx, req.project, selection(req.only, req.prefix));
      case 'list':
        return await list(ctx, req.project, req.prefix);
      case 'write':
        return await write(ctx, req.write, deps.writer);
      case 'exec':
        return await exec(ctx, req);
      case 'check':
        return await check(ctx, req);
      case 'input':
      case 'signal':
      case 'resize':
        // Answered by the connection (conn.ts), never dispatched.
        throw new SesameError('PROTOCOL', `op ${req.op} is answered by the connection`, { detail: { reason: 'unknown_op' } });
      default:
        if (!deps.approvals) throw new SesameError('UNAVAILABLE', `this agent does not serve ${req.op}`, { hint: 'restart the agent' });
        return await approvalOp(req, ctx, deps.approvals, rc.cellToken);
    }
  } catch (e) {
    if (e instanceof SesameError) return { line: rc.framer.error(e), secret: false };
    throw e;
  }
}

function selection(only: string[] | undefined, prefix: string | undefined): { only?: string[]; prefix?: string } {
  const sel: { only?: string[]; prefix?: string } = {};
  if (only) sel.only = only;
  if (prefix !== undefined) sel.prefix = prefix;
  return sel;
}
