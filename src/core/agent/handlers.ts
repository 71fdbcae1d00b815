/**
 * The agent's ops: what each validated request does and the line it gets back.
 * Read-only by construction: nothing here can write the vault or export a key.
 *
 * Contract: a Reply with `secret: true` holds decrypted values (base64) in `line`; the
 * connection wipes it once written. Decrypted value Buffers are wiped here, before return.
 * Values come only through the plaintext door (src/core/access.ts).
 */
import { SesameError } from '../errors.js';
import { errorLine, okLine, secretsLine, valueLine, type Request } from './protocol.js';
import type { VaultKeeper } from './keeper.js';
import { readOneNow, readSelectedNow, type AccessContext } from '../access.js';
import { ownerOnlyPolicy, type Policy } from '../policy/authorize.js';
import type { Caller } from '../policy/caller.js';
import type { Selection } from '../vault/vault.js';

export interface Reply {
  line: Buffer;
  /** The line carries secret bytes: wipe it after the write. */
  secret: boolean;
  /** Stop the agent once this reply is written. */
  stop?: boolean;
}

export interface HandlerContext {
  keeper: VaultKeeper;
  /** The agent's self-description for `status` (never secret). */
  status(): Record<string, unknown>;
}

/** Answers one request. Errors become error lines; never throws a SesameError. */
export function handle(req: Request, ctx: HandlerContext): Reply {
  try {
    switch (req.op) {
      case 'status':
        return { line: okLine(req.id, { status: ctx.status() }), secret: false };
      case 'stop':
        return { line: okLine(req.id, { stopping: true }), secret: false, stop: true };
      case 'get':
        return { line: getOne(req, ctx), secret: true };
      case 'getselected':
        return { line: getSelected(req, ctx), secret: true };
    }
  } catch (e) {
    if (e instanceof SesameError) return { line: errorLine(req.id, e), secret: false };
    throw e;
  }
}

function getOne(req: Extract<Request, { op: 'get' }>, ctx: HandlerContext): Buffer {
  const value = readOneNow(access(), ctx.keeper, req.project, req.key);
  try {
    return valueLine(req.id, value);
  } finally {
    value.fill(0);
  }
}

function getSelected(req: Extract<Request, { op: 'getselected' }>, ctx: HandlerContext): Buffer {
  const sel: Selection = {};
  if (req.only) sel.only = req.only;
  if (req.prefix !== undefined) sel.prefix = req.prefix;
  const { secrets, missing } = readSelectedNow(access(), ctx.keeper, req.project, sel);
  try {
    return secretsLine(req.id, secrets, missing);
  } finally {
    for (const [, b] of secrets) b.fill(0);
  }
}

/**
 * The plaintext door's context for a v1 request: the owner, as the v1 connection admits it
 * (conn.ts serves a peer only when its uid is the agent's; its pid, start time and executable
 * are not passed down to these handlers).
 */
function access(): AccessContext {
  return {
    caller: (owner ??= Object.freeze({ uid: AGENT_UID, gid: AGENT_GID, pid: null, startTime: null, exe: null, listener: Object.freeze({ kind: 'owner' as const }) })),
    policy: (policy ??= ownerOnlyPolicy(AGENT_UID)),
  };
}

const AGENT_UID = typeof process.getuid === 'function' ? process.getuid() : -1;
const AGENT_GID = typeof process.getgid === 'function' ? process.getgid() : -1;
let owner: Caller | undefined;
let policy: Policy | undefined;
