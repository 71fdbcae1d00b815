/** `sesame purge KEY`: erases a removed key and all its kept versions, for good. */
import { checkKeyName } from '../../core/names.js';
import type { Command } from '../command.js';
import { usage } from '../args.js';
import { info, json as outJson } from '../output.js';
import { docForChecks, runWrite } from '../write.js';

const cmd: Command = {
  usage: 'purge KEY\n\nexample:\n  sesame rm LEAKED && sesame purge LEAKED',
  summary: 'erase a removed key and its history for good (cannot be undone)',
  flags: {},
  maxPositionals: 1,
  async run(ctx, { positionals }) {
    const key = positionals[0];
    if (!key) throw usage('purge needs a KEY');
    checkKeyName(key);
    const project = ctx.project().name;
    const doc = await docForChecks(ctx);
    const p = Object.hasOwn(doc.projects, project) ? doc.projects[project] : undefined;
    // Refused on the names, before any passphrase (the vault refuses again under the lock).
    const { SesameError } = await import('../../core/errors.js');
    if (p && Object.hasOwn(p.entries, key)) {
      throw new SesameError('USAGE', `${key} in project ${project} is not removed; purge erases only removed keys`, { hint: `run \`sesame rm ${key}\` first, then \`sesame purge ${key}\`` });
    }
    if (p && !(p.removed && Object.hasOwn(p.removed, key))) {
      const { removedNotFound } = await import('../../core/vault/vault.js');
      throw removedNotFound(project, key);
    }
    await runWrite(ctx, { op: 'purge', project, key });
    if (ctx.json) outJson({ purged: key, project });
    else info(`purged ${key} from project ${project}: it cannot be restored`);
    return 0;
  },
};
export default cmd;
