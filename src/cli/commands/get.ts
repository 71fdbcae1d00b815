import type { Command } from '../command.js';
import { usage } from '../args.js';
import { checkKeyName } from '../../core/names.js';
import { outValueLine } from '../output.js';
import { openReader } from '../reader.js';

const cmd: Command = {
  usage: 'get KEY\n\nexample:\n  psql "$(sesame get DATABASE_URL)"',
  summary: 'print one secret (and a newline) to stdout, nothing else',
  flags: {},
  maxPositionals: 1,
  async run(ctx, { positionals }) {
    const key = positionals[0];
    if (!key) throw usage('get needs a KEY');
    checkKeyName(key);
    const project = ctx.project().name;
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
