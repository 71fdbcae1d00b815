/**
 * The wire forms of the approval and cell ops (docs/spec/agent-protocol.md, "Approvals and
 * cells"): their fields and validation. Pure (the client imports it too). The owner ops are
 * refused anywhere but the owner socket without a token (policy/authorize.ts `ADMIN_OPS`);
 * `resolve` is served only on the cell socket.
 */
import { isValidKeyName, isValidProjectName } from '../names.js';
import { badArgs } from '../agent/protocol.js';
import { isValidCellId } from '../cells/policy.js';

/** The approval and cell ops, byte order. */
export const APPROVAL_OPS = ['approvals', 'approve', 'cell_forget', 'cell_revoke', 'cells', 'challenge', 'deny', 'grant_revoke', 'resolve'] as const;
export type ApprovalOp = (typeof APPROVAL_OPS)[number];

/** Each op's own fields (besides v, id, op, pid, token). */
export const APPROVAL_FIELDS: Record<ApprovalOp, readonly string[]> = {
  approvals: [],
  challenge: [],
  approve: ['approval_id', 'mode', 'for_s', 'nonce', 'proof', 'pin'],
  deny: ['approval_id'],
  grant_revoke: ['grant'],
  cells: [],
  cell_revoke: ['cell_id'],
  cell_forget: ['cell_id'],
  resolve: ['cell_id', 'project', 'key'],
};

/** A validated approval/cell request's own members. */
export type ApprovalArgs =
  | { op: 'approvals' | 'challenge' | 'cells' }
  | { op: 'approve'; approval_id: string; mode: 'once' | 'for' | 'session'; for_s?: number; nonce?: string; proof?: string; pin?: string }
  | { op: 'deny'; approval_id: string }
  | { op: 'grant_revoke'; grant: string }
  | { op: 'cell_revoke' | 'cell_forget'; cell_id: string }
  | { op: 'resolve'; cell_id: string; project?: string; key: string };

/** True for an op of this module. */
export function isApprovalOp(op: string): op is ApprovalOp {
  return (APPROVAL_OPS as readonly string[]).includes(op);
}

const ID8 = /^[0-9a-f]{8}$/;
const HEX64 = /^[0-9a-f]{64}$/;
/** The longest `for` a request may even ask for (it is capped by `approval_max` anyway): a year. */
const MAX_FOR_S = 365 * 86_400;

/** Validates op `op`'s own fields of `o`; throws the bad_args SesameError. */
export function approvalArgs(op: ApprovalOp, o: Record<string, unknown>): ApprovalArgs {
  const id8 = (k: string): string => {
    const v = o[k];
    if (typeof v !== 'string' || !ID8.test(v)) throw badArgs(`${k} must be 8 lowercase hex digits`);
    return v;
  };
  const cell = (): string => {
    if (!isValidCellId(o.cell_id)) throw badArgs('cell_id must be 1 to 64 characters [A-Za-z0-9_.-]');
    return o.cell_id;
  };
  switch (op) {
    case 'approvals':
    case 'challenge':
    case 'cells':
      return { op };
    case 'deny':
      return { op, approval_id: id8('approval_id') };
    case 'grant_revoke':
      return { op, grant: id8('grant') };
    case 'cell_revoke':
    case 'cell_forget':
      return { op, cell_id: cell() };
    case 'resolve': {
      const cell_id = cell();
      if (typeof o.key !== 'string' || !isValidKeyName(o.key)) throw badArgs('key must be a key name ([A-Za-z_][A-Za-z0-9_]*)');
      if (o.project !== undefined && (typeof o.project !== 'string' || !isValidProjectName(o.project))) throw badArgs('project must be a project name');
      return { op, cell_id, key: o.key, ...(typeof o.project === 'string' ? { project: o.project } : {}) };
    }
    case 'approve': {
      const approval_id = id8('approval_id');
      const mode = o.mode ?? 'once';
      if (mode !== 'once' && mode !== 'for' && mode !== 'session') throw badArgs('mode must be "once", "for" or "session"');
      const out: ApprovalArgs & { op: 'approve' } = { op, approval_id, mode };
      if (mode === 'for') {
        if (!Number.isSafeInteger(o.for_s) || (o.for_s as number) < 1 || (o.for_s as number) > MAX_FOR_S) throw badArgs('for_s must be a whole number of seconds from 1 (mode "for" needs it)');
        out.for_s = o.for_s as number;
      } else if (o.for_s !== undefined) throw badArgs('for_s goes only with mode "for"');
      const hasProof = o.nonce !== undefined || o.proof !== undefined;
      if (hasProof) {
        if (typeof o.nonce !== 'string' || !HEX64.test(o.nonce) || typeof o.proof !== 'string' || !HEX64.test(o.proof)) throw badArgs('nonce and proof must each be 64 lowercase hex digits');
        out.nonce = o.nonce;
        out.proof = o.proof;
      }
      if (o.pin !== undefined) {
        if (hasProof) throw badArgs('send either a proof (nonce and proof) or a pin, not both');
        if (typeof o.pin !== 'string' || !/^[\x21-\x7e]{4,64}$/.test(o.pin)) throw badArgs('pin must be 4 to 64 printable ASCII characters');
        out.pin = o.pin;
      }
      if (!hasProof && o.pin === undefined) throw badArgs('approve needs a proof (nonce and proof, from the vault passphrase) or the approval pin');
      return out;
    }
  }
}
