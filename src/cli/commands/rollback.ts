/** `sesame rollback KEY [--to N]`: an earlier value becomes current again, as a new version (the replaced one is kept). */
import { SesameError } from '../../core/errors.js';
import { checkKeyName } from '../../core/names.js';
import type { Command } from '../command.js';
import { usage } from '../args.js';
import { info, json as outJson } from '../output.js';
import { docForChecks, runWrite } from '../write.js';
import { versionFlag } from './restore.js';

const cmd: Command = {
  usage: 'rollback KEY [--to N]\n\nexample:\n  sesame rollback DATABASE_URL          # back to the version before the current one',
  summary: 'make an earlier version current again (as a new version; nothing is lost)',
  flags: { to: { type: 'string', arg: 'N', help: 'the version to bring back (default: the one before the current)' } },
  maxPositionals: 1,
  async run(ctx, { positionals, flags }) {
    const key = positionals[0];
    if (!key) throw usage('rollback needs a KEY');
    checkKeyName(key);
    const to = versionFlag(flags.to, '--to');
    const project = ctx.project().name;
    const { historyOf } = await import('../../core/vault/history.js');
    const h = historyOf(await docForChecks(ctx), project, key); // names before any passphrase
    if (h.removed_at) throw new SesameError('USAGE', `${key} in project ${project} is removed`, { hint: `\`sesame restore ${key}\` brings it back first` });
    const r = await runWrite(ctx, { op: 'rollback', project, key, ...(to === undefined ? {} : { to }) });
    if (ctx.json) outJson({ key, project, from: r.from, version: r.version });
    else info(`${key} in project ${project} now holds the value of v${r.from} (as v${r.version})`);
    return 0;
  },
};
export default cmd;
