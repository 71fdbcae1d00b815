/**
 * The agent's ops: what each validated request does and the line it gets back.
 * Read-only by construction: nothing here can write the vault or export a key.
 *
 * Contract: a Reply with `secret: true` holds decrypted values (base64) in `line`; the
 * connection wipes it once written. Decrypted value Buffers are wiped here, before return.
 */
import { SesameError } from '../errors.js';
import { errorLine, okLine, secretsLine, valueLine, type Request } from './protocol.js';
import type { VaultKeeper } from './keeper.js';

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
  return ctx.keeper.with((v) => {
    const value = v.get(req.project, req.key);
    try {
      return valueLine(req.id, value);
    } finally {
      value.fill(0);
    }
  });
}

function getSelected(req: Extract<Request, { op: 'getselected' }>, ctx: HandlerContext): Buffer {
  return ctx.keeper.with((v) => {
    const sel: { only?: string[]; prefix?: string } = {};
    if (req.only) sel.only = req.only;
    if (req.prefix !== undefined) sel.prefix = req.prefix;
    const { secrets, missing } = v.getSelected(req.project, sel);
    try {
      return secretsLine(req.id, secrets, missing);
    } finally {
      for (const [, b] of secrets) b.fill(0);
    }
  });
}
