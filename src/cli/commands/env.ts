import type { Command } from '../command.js';
import { usage } from '../args.js';
import { out } from '../output.js';
import { openReader } from '../reader.js';
import { SELECT_FLAGS, readSelection, requireCarried, withDirSelection } from '../select.js';
import { ENV_FORMATS, formatEnv, type EnvFormat } from '../../core/envfmt.js';

const cmd: Command = {
  usage: 'env [--format shell|fish|dotenv|json] [--only K1,K2] [--exclude K1,K2] [--prefix P] [--strict]\n\nexample:\n  eval "$(sesame env --only DATABASE_URL,API_KEY)"',
  summary: 'print secrets for eval (bash/zsh), source (fish), a .env file or JSON',
  flags: { format: { type: 'string', arg: 'FMT', help: 'shell (default), fish, dotenv or json' }, ...SELECT_FLAGS },
  async run(ctx, { flags }) {
    const format = (flags.format ?? (ctx.json ? 'json' : 'shell')) as EnvFormat;
    if (!ENV_FORMATS.includes(format)) throw usage(`unknown --format ${JSON.stringify(format)}`, `use one of: ${ENV_FORMATS.join(', ')}`);
    const project = ctx.project().name;
    const names = flags.exclude !== undefined ? await (await import('../key-names.js')).projectKeyNames(ctx.paths, project) : undefined;
    const reader = await openReader(ctx);
    try {
      const secrets = await readSelection(reader, project, withDirSelection(flags, ctx.project()), names);
      requireCarried(secrets, `the ${format} format`, (k, v) => formatEnv(format, [[k, v]]));
      try {
        const doc = formatEnv(format, secrets);
        out(doc);
        doc.fill(0);
      } finally {
        for (const [, v] of secrets) v.fill(0);
      }
    } finally {
      reader.close();
    }
    return 0;
  },
};
export default cmd;
