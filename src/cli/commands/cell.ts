/**
 * `sesame cell list | revoke CELL_ID | forget CELL_ID`: the cells that registered themselves
 * with an agent started with `--cells` (docs/approvals.md). Talks to the owner socket; the
 * agent refuses these ops with a token or on any other socket. Ids and times only.
 */
import { SesameError } from '../../core/errors.js';
import type { CellView } from '../../core/cells/registry.js';
import { isValidCellId } from '../../core/cells/policy.js';
import { usage } from '../args.js';
import type { Command, Group } from '../command.js';
import type { Ctx } from '../context.js';
import { info, json as outJson, out } from '../output.js';
import type { Reply } from '../../core/agent/reply-check.js';

async function call<T>(ctx: Ctx, fields: Record<string, unknown>, check: (r: Reply) => T): Promise<T> {
  const { connectAgent } = await import('../../core/agent/client.js');
  const c = await connectAgent(ctx.paths.agentSock, ctx.env);
  if (!c) throw new SesameError('UNAVAILABLE', 'no agent is running', { remedy: 'agent_start' });
  try {
    return await c.request(fields, check);
  } finally {
    c.close();
  }
}

const idArg = (positionals: string[], what: string): string => {
  const id = positionals[0];
  if (id === undefined) throw usage(`cell ${what} needs a CELL_ID`);
  if (!isValidCellId(id)) throw usage('a cell id is 1 to 64 characters [A-Za-z0-9_.-]');
  return id;
};

const safe = (s: unknown): string => (typeof s === 'string' ? s.replace(/[^\x20-\x7e]/g, '?') : '-');

const list: Command = {
  usage: 'cell list [--json]\n\nexample:\n  sesame cell list',
  summary: 'list the cells that registered with the agent (id, registered, last seen, resolves, revoked)',
  flags: {},
  async run(ctx) {
    const cells = await call(ctx, { op: 'cells' }, (r) => {
      if (!Array.isArray(r.cells)) throw new SesameError('PROTOCOL', 'the agent sent a malformed cell list');
      return r.cells as CellView[];
    });
    if (ctx.json) {
      outJson({ cells });
      return 0;
    }
    if (!cells.length) {
      info('no cell has registered');
      return 0;
    }
    const w = Math.max(4, ...cells.map((c) => safe(c.id).length));
    const lines = cells.map(
      (c) => `${safe(c.id).padEnd(w)}  registered ${safe(c.registered_at)}  last seen ${safe(c.last_seen)}  resolves ${c.resolves}${c.revoked_at ? `  REVOKED ${safe(c.revoked_at)}` : ''}`,
    );
    out(`${lines.join('\n')}\n`);
    return 0;
  },
};

const revoke: Command = {
  usage: 'cell revoke CELL_ID\n\nexample:\n  sesame cell revoke build-17',
  summary: 'deny a cell from now on (kept across agent restarts)',
  flags: {},
  maxPositionals: 1,
  async run(ctx, { positionals }) {
    const id = idArg(positionals, 'revoke');
    const r = await call(ctx, { op: 'cell_revoke', cell_id: id }, (x) => x);
    if (ctx.json) outJson({ revoked: id, changed: r.changed === true });
    else info(r.changed === true ? `revoked cell ${id}` : `cell ${id} was already revoked`);
    return 0;
  },
};

const forget: Command = {
  usage: 'cell forget CELL_ID\n\nexample:\n  sesame cell forget build-17',
  summary: 'remove the record of a revoked cell (it may then register again)',
  flags: {},
  maxPositionals: 1,
  async run(ctx, { positionals }) {
    const id = idArg(positionals, 'forget');
    await call(ctx, { op: 'cell_forget', cell_id: id }, (x) => x);
    if (ctx.json) outJson({ forgotten: id });
    else info(`forgot cell ${id}`);
    return 0;
  },
};

const group: Group = { summary: 'cells: sandboxes that register themselves with the agent', subcommands: { list, revoke, forget } };
export default group;
