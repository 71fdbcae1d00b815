/**
 * `sesame history [KEY]`: the versions a key keeps (numbers and times, never values), or,
 * without KEY, the removed keys of the project that `restore` can bring back. Needs no key.
 */
import { checkKeyName } from '../../core/names.js';
import type { Command } from '../command.js';
import { json as outJson, out } from '../output.js';
import { docForChecks } from '../write.js';

const cmd: Command = {
  usage: 'history [KEY] [--json]\n\nexamples:\n  sesame history DATABASE_URL\n  sesame history            # the removed keys, recoverable with restore',
  summary: "list a key's kept versions with their times (never values), or the removed keys",
  flags: {},
  maxPositionals: 1,
  async run(ctx, { positionals }) {
    const project = ctx.project().name;
    const doc = await docForChecks(ctx);
    const { historyOf, removedKeys } = await import('../../core/vault/history.js');
    const key = positionals[0];
    if (key === undefined) {
      const rows = removedKeys(doc, project);
      if (ctx.json) outJson({ project, removed: rows });
      else if (!rows.length) out(`no removed keys in project ${project}\n`);
      else out(rows.map((r) => `${r.key}  removed ${r.removed_at}  (v${r.version}, ${r.versions} version${r.versions === 1 ? '' : 's'} kept)\n`).join(''));
      return 0;
    }
    checkKeyName(key);
    const h = historyOf(doc, project, key);
    if (ctx.json) {
      outJson(h);
      return 0;
    }
    const lines = h.versions.map(
      (v) => `v${String(v.version).padEnd(4)} ${v.updated_at}${v.high_value ? '  high-value' : ''}${v.current ? (h.removed_at ? `  (removed ${h.removed_at})` : '  (current)') : ''}\n`,
    );
    out(lines.reverse().join(''));
    return 0;
  },
};
export default cmd;
