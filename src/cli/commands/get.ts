import type { Command } from '../command.js';
import { usage } from '../args.js';
import { SesameError } from '../../core/errors.js';
import { checkKeyName } from '../../core/names.js';
import { out, outValueLine } from '../output.js';
import { openReader } from '../reader.js';

const MAX_KEYS = 256;

const cmd: Command = {
  usage:
    'get KEY [KEY…] [-n] [--json]\n\nexamples:\n  psql "$(sesame get DATABASE_URL)"\n  sesame get -n API_TOKEN | wc -c\n  sesame get USER PASSWORD --json',
  summary: 'print secrets to stdout, nothing else: one value and a newline per KEY (or JSON with --json)',
  flags: {
    'no-newline': { type: 'boolean', short: 'n', help: 'print the value without the trailing newline (one KEY only)' },
  },
  maxPositionals: MAX_KEYS,
  async run(ctx, { positionals, flags }) {
    const keys = positionals;
    if (!keys.length) throw usage('get needs a KEY');
    for (const k of keys) checkKeyName(k);
    if (new Set(keys).size !== keys.length) throw usage('a KEY is named twice');
    const noNewline = flags['no-newline'] === true;
    if (noNewline && keys.length > 1) throw usage('-n prints one value; several values need their newlines (or --json)');
    const project = ctx.project().name;
    const { requireKnownNames } = await import('../key-names.js');
    await requireKnownNames(ctx.paths, project, keys); // before any passphrase or key derivation
    const reader = await openReader(ctx);
    const values: Buffer[] = [];
    try {
      for (const k of keys) values.push(await reader.get(project, k));
    } catch (e) {
      for (const v of values) v.fill(0);
      throw e;
    } finally {
      reader.close();
    }
    try {
      if (ctx.json) {
        const { getJson } = await import('../get-json.js');
        await getJson(ctx.paths, project, keys, values);
        return 0;
      }
      if (keys.length > 1) {
        const bad = keys.filter((_, i) => values[i]!.includes(0x0a));
        if (bad.length) {
          throw new SesameError('INVALID', `the value of ${bad.join(', ')} holds a newline: one value per line cannot carry it; nothing was printed`, {
            hint: `read it alone (\`sesame get ${bad[0]!}\`), or all of them with --json (values in base64)`,
            detail: { keys: bad },
          });
        }
      }
      if (noNewline) out(values[0]!);
      else for (const v of values) outValueLine(v);
    } finally {
      for (const v of values) v.fill(0);
    }
    return 0;
  },
};
export default cmd;
