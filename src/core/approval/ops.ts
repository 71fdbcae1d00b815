/**
 * The approval and cell ops (docs/spec/agent-protocol.md, "Approvals and cells"), run by the
 * dispatcher for a request that authorize() admitted: the owner ops only on the owner
 * socket without a token (policy/authorize.ts `ADMIN_OPS`), `resolve` only on the cell socket.
 *
 * `approve` is admitted only with a proof the agent checks itself (proof.ts): a MAC under
 * the master key's approval subkey over a fresh challenge and the exact decision, or the
 * approval PIN against the sealed PIN file. `deny`, `grant_revoke` and `cell_revoke` only
 * narrow access and need no proof. Replies are names, ids and times: never a value, token or PIN.
 */
import { SesameError } from '../errors.js';
import type { Caller } from '../policy/caller.js';
import { cellRuleFor } from '../policy/authorize.js';
import { DEFAULT_PROJECT } from '../names.js';
import type { AccessContext } from '../access.js';
import type { OpContext, Reply } from '../agent/ops/context.js';
import type { ApprovalArgs } from './wire.js';
import type { ApprovalBroker } from './broker.js';
import type { ProofVerifier } from './proof.js';
import type { CellRegistry } from '../cells/registry.js';

/** A cell event for the audit log and the agent log (names and ids only). */
export interface CellEvent {
  readonly event: 'cell_register' | 'cell_resolve' | 'cell_revoke' | 'cell_forget';
  readonly outcome: 'ok' | 'denied';
  readonly reason?: string;
  readonly cell: string;
  readonly caller: Caller;
  readonly project?: string;
  readonly keys?: readonly string[];
}

/** What the approval ops use. */
export interface ApprovalDeps {
  readonly broker: ApprovalBroker;
  readonly proofs: ProofVerifier;
  /** Absent: the agent serves no cells (`agent start` without `--cells`). */
  readonly cells?: CellRegistry;
  /** Told of every cell event; never throws. */
  cellEvent?(e: CellEvent): void;
}

/** Runs one approval/cell op; SesameErrors are the dispatcher's to frame. `cellToken`: the digest of a cell's token (wiped by the caller). */
export async function approvalOp(req: ApprovalArgs, ctx: OpContext, deps: ApprovalDeps, cellToken: Buffer | undefined): Promise<Reply> {
  const ok = (fields: Record<string, unknown>): Reply => ({ line: ctx.framer.ok(fields), secret: false });
  switch (req.op) {
    case 'approvals':
      return ok({ pending: deps.broker.pending(), grants: deps.broker.grants() });
    case 'challenge':
      return ok({ nonce: deps.proofs.challenge(), expires_in_s: 120 });
    case 'approve': {
      const d = { approvalId: req.approval_id, mode: req.mode, ...(req.for_s !== undefined ? { forS: req.for_s } : {}) };
      let proven = false;
      if (req.pin !== undefined) {
        const pin = Buffer.from(req.pin, 'latin1');
        try {
          proven = deps.proofs.checkPin(pin);
        } finally {
          pin.fill(0);
        }
      } else if (req.nonce !== undefined && req.proof !== undefined) proven = deps.proofs.checkProof(req.nonce, req.proof, d);
      if (!proven) {
        throw new SesameError('DENIED', `refused: the approval of ${req.approval_id} carries no valid proof`, {
          hint: 'approve by typing the vault passphrase (or the approval PIN) at the terminal: sesame approve ID',
          detail: { reason: 'approval_proof' },
        });
      }
      const r = deps.broker.decide(req.approval_id, { mode: req.mode, ...(req.for_s !== undefined ? { forMs: req.for_s * 1000 } : {}) });
      return ok({ approved: req.approval_id, mode: req.mode, grant: r.grant, expires_at: r.expires_at, capped: r.capped });
    }
    case 'deny':
      deps.broker.decide(req.approval_id, { deny: true });
      return ok({ denied: req.approval_id });
    case 'grant_revoke':
      deps.broker.revoke(req.grant);
      return ok({ revoked: req.grant });
    case 'cells':
      return ok({ cells: needCells(deps).list() });
    case 'cell_revoke': {
      const changed = needCells(deps).revoke(req.cell_id);
      deps.cellEvent?.({ event: 'cell_revoke', outcome: 'ok', cell: req.cell_id, caller: ctx.access.caller, ...(changed ? {} : { reason: 'already_revoked' }) });
      return ok({ revoked: req.cell_id, changed });
    }
    case 'cell_forget':
      needCells(deps).forget(req.cell_id);
      deps.cellEvent?.({ event: 'cell_forget', outcome: 'ok', cell: req.cell_id, caller: ctx.access.caller });
      return ok({ forgotten: req.cell_id });
    case 'resolve':
      return resolve(req, ctx, deps, cellToken);
  }
}

async function resolve(req: ApprovalArgs & { op: 'resolve' }, ctx: OpContext, deps: ApprovalDeps, digest: Buffer | undefined): Promise<Reply> {
  const registry = needCells(deps);
  const base = ctx.access.caller;
  const cell = req.cell_id;
  const refuse = (reason: string, message: string, hint: string): never => {
    deps.cellEvent?.({ event: 'cell_resolve', outcome: 'denied', reason, cell, caller: base, ...(req.project !== undefined ? { project: req.project } : {}), keys: [req.key] });
    throw new SesameError('DENIED', message, { hint, detail: { reason } });
  };
  if (!digest) return refuse('cell_token', 'denied: resolve needs the cell token (`token`)', 'send the token this cell registers (or registered) with');
  const rule = cellRuleFor(ctx.access.policy, cell);
  if (!rule) return refuse('cell_unknown', `denied: no rule of cells.toml admits cell ${cell}`, 'ask the owner to add a [[cell]] rule for this id');
  let admitted: 'registered' | 'ok';
  try {
    admitted = registry.admit(cell, digest);
  } catch (e) {
    const reason = e instanceof SesameError && typeof e.detail?.reason === 'string' ? e.detail.reason : 'error';
    deps.cellEvent?.({ event: 'cell_resolve', outcome: 'denied', reason, cell, caller: base, keys: [req.key] });
    throw e;
  }
  if (admitted === 'registered') deps.cellEvent?.({ event: 'cell_register', outcome: 'ok', cell, caller: base });
  const project = req.project ?? (rule.projects.length === 1 ? rule.projects[0]! : DEFAULT_PROJECT);
  const caller: Caller = Object.freeze({ ...base, cell: Object.freeze({ id: cell }) });
  const access: AccessContext = { ...ctx.access, caller };
  const value = await ctx.door.readOne(access, ctx.src, project, req.key);
  try {
    ctx.access.signal.throwIfAborted();
    return { line: ctx.framer.value(value), secret: true };
  } finally {
    value.fill(0);
  }
}

function needCells(deps: ApprovalDeps): CellRegistry {
  if (!deps.cells) throw new SesameError('UNAVAILABLE', 'this agent serves no cells', { hint: 'restart the agent with --cells' });
  return deps.cells;
}
