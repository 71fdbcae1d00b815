import { SesameError } from '../../core/errors.js';
import type { Command } from '../command.js';
import { json as outJson, out } from '../output.js';

const cmd: Command = {
  usage: 'list [--json]\n\nexample:\n  sesame -p web list',
  summary: 'list key names and metadata of the current project (never values; no unlock needed)',
  flags: {},
  async run(ctx) {
    const project = ctx.project().name;
    const { readVault } = await import('../../core/vault/store.js');
    const doc = readVault(ctx.paths);
    const p = Object.hasOwn(doc.projects, project) ? doc.projects[project] : undefined;
    // Unkeyed: list never unlocks. The names are read, so the read is recorded (names only).
    await (await import('../audit-event.js')).auditEvent(ctx, { event: 'list', outcome: p ? 'ok' : 'denied', ...(p ? {} : { reason: 'not_found' }), project });
    if (!p) throw new SesameError('NOT_FOUND', `project ${project} does not exist`, { hint: 'see `sesame projects list`' });
    const rows = Object.keys(p.entries)
      .sort()
      .map((key) => {
        const e = p.entries[key]!;
        return { key, version: e.version, created_at: e.created_at, updated_at: e.updated_at, high_value: e.high_value };
      });
    if (ctx.json) {
      outJson({ project, keys: rows });
      return 0;
    }
    const w = Math.max(3, ...rows.map((r) => r.key.length));
    const lines = rows.map((r) => `${r.key.padEnd(w)}  v${String(r.version).padEnd(4)} ${r.updated_at}${r.high_value ? '  high-value' : ''}`);
    out(lines.length ? `${lines.join('\n')}\n` : '');
    return 0;
  },
};
export default cmd;
