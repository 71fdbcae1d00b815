import type { Command } from '../command.js';
import { usage } from '../args.js';
import { checkKeyName } from '../../core/names.js';
import { outValueLine } from '../output.js';
import { openReader } from '../reader.js';

const cmd: Command = {
  usage: 'get KEY [--version N]\n\nexample:\n  psql "$(sesame get DATABASE_URL)"',
  summary: 'print one secret (and a newline) to stdout, nothing else',
  flags: { version: { type: 'string', arg: 'N', help: 'print version N from the history instead (`sesame history KEY`)' } },
  maxPositionals: 1,
  async run(ctx, { positionals, flags }) {
    const key = positionals[0];
    if (!key) throw usage('get needs a KEY');
    checkKeyName(key);
    const project = ctx.project().name;
    if (flags.version !== undefined) {
      const n = (await import('./restore.js')).versionFlag(flags.version, '--version');
      const v = await (await import('../version-read.js')).readVersionDirect(ctx, project, key, n!);
      outValueLine(v);
      return 0;
    }
    const reader = await openReader(ctx);
    try {
      const v = await reader.get(project, key);
      outValueLine(v);
    } finally {
      reader.close();
    }
    return 0;
  },
};
export default cmd;
