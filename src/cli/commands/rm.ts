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
    const { docForChecks, runWrite } = await import('../write.js');
    await docForChecks(ctx); // NOT_INITIALIZED first
    await (await import('../key-names.js')).requireKnownNames(ctx.paths, project, [key]); // before any unlock, with "did you mean"
    const r = await runWrite(ctx, { op: 'rm', project, key });
    if (ctx.json) outJson({ removed: key, project, recoverable: r.result === 'removed' });
    else
      info(
        `removed ${key} from project ${project}${r.result === 'removed' ? ` (recoverable: \`sesame restore ${key}\`, erased by \`sesame purge ${key}\`)` : ' (history = 0: it cannot be restored)'}`,
      );
    return 0;
  },
};
export default cmd;
