/**
 * `sesame export [--format dotenv|json] [--only K1,K2]`: the current project's values to
 * stdout. Every value is checked against the format first; those it cannot hold exactly are
 * refused together, each named, and nothing is printed.
 */
import { SesameError } from '../../core/errors.js';
import { dotenvLine, formatEnv, jsonString } from '../../core/envfmt.js';
import type { Command } from '../command.js';
import { usage } from '../args.js';
import { out } from '../output.js';
import { openReader } from '../reader.js';
import { readSelection } from '../select.js';

const FORMATS = ['dotenv', 'json'] as const;

const cmd: Command = {
  usage: 'export [--format dotenv|json] [--only K1,K2]\n\nexample:\n  sesame export --format json > secrets.json   # plaintext: mind where it goes',
  summary: "print the current project's secrets as a .env file or JSON (values a format cannot hold are refused, by name)",
  flags: {
    format: { type: 'string', arg: 'FMT', help: 'dotenv (default) or json' },
    only: { type: 'string', arg: 'K1,K2', help: 'only these keys' },
  },
  async run(ctx, { flags }) {
    const format = (flags.format ?? (ctx.json ? 'json' : 'dotenv')) as (typeof FORMATS)[number];
    if (!FORMATS.includes(format)) throw usage(`unknown --format ${JSON.stringify(format)}`, `use one of: ${FORMATS.join(', ')}`);
    const project = ctx.project().name;
    const reader = await openReader(ctx);
    try {
      const secrets = await readSelection(reader, project, { only: flags.only, strict: true });
      try {
        const refused: string[] = [];
        for (const [k, v] of secrets) {
          try {
            (format === 'json' ? jsonString(k, v) : dotenvLine(k, v)).fill(0);
          } catch (e) {
            if (!(e instanceof SesameError)) throw e;
            refused.push(`${k} (${e.message.replace(/^the value of \S+ /, '')})`);
          }
        }
        if (refused.length) {
          throw new SesameError('INVALID', `${refused.length} value${refused.length === 1 ? '' : 's'} cannot be written exactly as ${format}: ${refused.join('; ')}; nothing was printed`, {
            hint: `use ${format === 'json' ? '--format dotenv' : '--format json'}, or leave them out with --only`,
            detail: { keys: refused.map((r) => r.split(' ')[0]) },
          });
        }
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
