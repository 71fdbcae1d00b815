import { checkKeyName } from '../../core/names.js';
import type { Command } from '../command.js';
import { usage } from '../args.js';
import { info, json as outJson } from '../output.js';

const cmd: Command = {
  usage: 'rm KEY\n\nexample:\n  sesame rm OLD_TOKEN',
  summary: 'remove a secret from the current project',
  flags: {},
  maxPositionals: 1,
  async run(ctx, { positionals }) {
    const key = positionals[0];
    if (!key) throw usage('rm needs a KEY');
    checkKeyName(key);
    const project = ctx.project().name;
    const { readVault } = await import('../../core/vault/store.js');
    const doc = readVault(ctx.paths);
    const { SesameError } = await import('../../core/errors.js');
    const p = Object.hasOwn(doc.projects, project) ? doc.projects[project] : undefined;
    if (!p) throw new SesameError('NOT_FOUND', `project ${project} does not exist`);
    if (!Object.hasOwn(p.entries, key)) throw new SesameError('NOT_FOUND', `no key ${key} in project ${project}`, { detail: { key, project } });
    const r = await (await import('../write.js')).runWrite(ctx, { op: 'rm', project, key });
    if (ctx.json) outJson({ removed: key, project, recoverable: r.result === 'removed' });
    else
      info(
        `removed ${key} from project ${project}${r.result === 'removed' ? ` (recoverable: \`sesame restore ${key}\`, erased by \`sesame purge ${key}\`)` : ' (history = 0: it cannot be restored)'}`,
      );
    return 0;
  },
};
export default cmd;
