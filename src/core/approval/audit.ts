/**
 * Approval and cell events as audit records (docs/spec/audit-log.md): `approval_request`,
 * `approval_grant`, `approval_deny`, `approval_expire`, `approval_withdrawn`, `grant_revoke`,
 * `cell_register`, `cell_resolve` (a refused resolve; an admitted one is the door's `get`
 * record with via `cell:ID`), `cell_revoke`, `cell_forget`. The approval or grant id is the
 * record's `request`. Names, ids and reason codes only: never a value, token or PIN.
 */
import { callerFields, keyNamesOf } from '../audit/access-hook.js';
import type { AgentAudit } from '../audit/agent-audit.js';
import { isValidProjectName } from '../names.js';
import type { Caller } from '../policy/caller.js';
import type { ApprovalEvent } from './broker.js';
import type { CellEvent } from './ops.js';

/** The two sinks the agent wires: the broker's `audit` and the cell ops' `cellEvent`. Never throw. */
export function approvalAudit(audit: Pick<AgentAudit, 'record'>, log: (msg: string) => void): { approval: (e: ApprovalEvent) => void; cell: (e: CellEvent) => void } {
  const names = (project: string | undefined, keys: readonly string[] | undefined): { project?: string; keys?: string[] } => ({
    ...(project !== undefined && isValidProjectName(project) ? { project } : {}),
    ...(keys ? { keys: keyNamesOf(keys) } : {}),
  });
  return {
    approval: (e) => {
      try {
        audit.record({
          event: e.event,
          outcome: e.outcome,
          ...(e.reason !== undefined ? { reason: e.reason } : {}),
          ...callerFields(e.caller),
          ...names(e.project, e.keys),
          ...(/^[0-9a-f]{8}$/.test(e.id) ? { request: e.id } : {}),
        });
      } catch {
        /* never fails the decision */
      }
    },
    cell: (e) => {
      const c: Caller = Object.freeze({ ...e.caller, cell: Object.freeze({ id: e.cell }) });
      log(`${e.event.replace('_', ' ')}: cell ${e.cell} ${e.outcome}${e.reason ? ` (${e.reason})` : ''} — pid ${e.caller.pid ?? '?'}${e.keys?.length ? ` [${e.keys.join(' ')}]` : ''}`);
      try {
        audit.record({ event: e.event, outcome: e.outcome, ...(e.reason !== undefined ? { reason: e.reason } : {}), ...callerFields(c), ...names(e.project, e.keys) });
      } catch {
        /* never fails the op */
      }
    },
  };
}
