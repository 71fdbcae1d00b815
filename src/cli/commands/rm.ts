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
    const { readVault, mutateVault } = await import('../../core/vault/store.js');
    readVault(ctx.paths); // NOT_INITIALIZED first
    await (await import('../key-names.js')).requireKnownNames(ctx.paths, project, [key]); // before any unlock, with "did you mean"
    const { unlockDirect } = await import('../direct-unlock.js');
    const v = await unlockDirect(ctx);
    try {
      mutateVault(ctx.paths, v.master, ctx.env, (w) => {
        w.rm(project, key);
      });
      await (await import('../audit-event.js')).auditEvent(ctx, { event: 'rm', outcome: 'ok', project, keys: [key] }, v.master);
    } finally {
      v.dispose();
    }
    if (ctx.json) outJson({ removed: key, project });
    else info(`removed ${key} from project ${project}`);
    return 0;
  },
};
export default cmd;
