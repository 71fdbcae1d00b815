/**
 * `sesame restore KEY`: brings back a removed key with its history. Named for what it does
 * to a key; restoring a whole-vault backup is `sesame backup restore FILE`, so the two never
 * share a command word (a key name and a file name can look alike).
 */
import { SesameError } from '../../core/errors.js';
import { checkKeyName } from '../../core/names.js';
import type { Command } from '../command.js';
import { usage } from '../args.js';
import { info, json as outJson } from '../output.js';
import { docForChecks, runWrite } from '../write.js';

/** A `--version`/`--to` flag as a version number (a whole number ≥ 1), or undefined when absent. USAGE otherwise. */
export function versionFlag(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^[1-9][0-9]{0,8}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw usage(`${flag} needs a version number (1, 2, …)`, '`sesame history KEY` lists the versions kept');
  return n;
}

const cmd: Command = {
  usage: 'restore KEY\n\nexample:\n  sesame restore OLD_TOKEN      # undo `sesame rm OLD_TOKEN`',
  summary: 'bring back a removed key with its history (a vault backup: `backup restore`)',
  flags: {},
  maxPositionals: 1,
  async run(ctx, { positionals }) {
    const key = positionals[0];
    if (!key) throw usage('restore needs a KEY', 'to restore a vault backup file: `sesame backup restore FILE`');
    checkKeyName(key);
    const project = ctx.project().name;
    const { historyOf } = await import('../../core/vault/history.js');
    const h = historyOf(await docForChecks(ctx), project, key);
    if (!h.removed_at)
      throw new SesameError('USAGE', `${key} in project ${project} is not removed; there is nothing to restore`, { hint: `to bring back an earlier value: \`sesame rollback ${key}\`` });
    const r = await runWrite(ctx, { op: 'restore', project, key });
    if (ctx.json) outJson({ restored: key, project, version: r.version });
    else info(`restored ${key} in project ${project} (v${r.version})`);
    return 0;
  },
};
export default cmd;
