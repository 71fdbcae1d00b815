/** `sesame cp KEY --to-project P [NEW]`: copies a key with its history into another project. */
import { checkKeyName, checkProjectName } from '../../core/names.js';
import type { Command } from '../command.js';
import { usage } from '../args.js';
import { info, json as outJson } from '../output.js';
import { runWrite } from '../write.js';
import { checkTransfer } from './mv.js';

const cmd: Command = {
  usage: 'cp KEY --to-project P [NEW] [--force]\n\nexample:\n  sesame cp DATABASE_URL --to-project staging',
  summary: 'copy a key with its history to another project (optionally under a new name)',
  flags: {
    'to-project': { type: 'string', arg: 'P', help: 'the project to copy to (required)' },
    force: { type: 'boolean', help: 'replace an existing key there (its versions join the history)' },
  },
  maxPositionals: 2,
  async run(ctx, { positionals, flags }) {
    const [key, newKey] = positionals;
    if (!key) throw usage('cp needs a KEY');
    const to = flags['to-project'];
    if (typeof to !== 'string') throw usage('cp needs --to-project P', 'to rename a key within a project: `sesame mv KEY NEW`');
    checkProjectName(to);
    checkKeyName(key);
    const toKey = newKey ?? key;
    checkKeyName(toKey);
    const project = ctx.project().name;
    await checkTransfer(ctx, project, key, to, toKey, flags.force === true);
    const r = await runWrite(ctx, { op: 'cp', project, key, toProject: to, toKey, ...(flags.force ? { force: true } : {}) });
    if (ctx.json) outJson({ copied: key, project, to_project: to, to: toKey, result: r.result, version: r.version });
    else info(`copied ${key} from project ${project} to ${toKey} in project ${to}`);
    return 0;
  },
};
export default cmd;
