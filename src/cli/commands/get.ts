import type { Command } from '../command.js';
import { usage } from '../args.js';
import { checkKeyName } from '../../core/names.js';
import { outValueLine } from '../output.js';
import { openReader } from '../reader.js';

const cmd: Command = {
  usage: 'get KEY\n\nexample:\n  psql "$(sesame get DATABASE_URL)"',
  summary: 'print one secret (and a newline) to stdout, nothing else',
  flags: { fd: { type: 'boolean', help: 'refused: a descriptor needs a process to hold it; use `sesame run --fd KEY -- CMD` (CMD reads /proc/self/fd/$KEY_FD)' } },
  maxPositionals: 1,
  async run(ctx, { positionals, flags }) {
    const key = positionals[0];
    if (flags.fd) {
      // A descriptor dies with the process that holds it: `get` exits at once, so there is no path to print that stays valid.
      throw usage(
        'get --fd has no descriptor to give: it would close when sesame exits',
        "use `sesame run --fd KEY -- CMD`: CMD reads the value from descriptor $KEY_FD (or /proc/self/fd/$KEY_FD), e.g. `sesame run --fd TLS_KEY -- sh -c 'tool --key-file /proc/self/fd/$TLS_KEY_FD'`",
      );
    }
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
