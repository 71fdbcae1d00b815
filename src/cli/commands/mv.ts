/** `sesame mv KEY NEW` (also `rename`): renames a key in the current project with its whole history. */
import { SesameError } from '../../core/errors.js';
import { checkKeyName } from '../../core/names.js';
import type { Command } from '../command.js';
import { usage } from '../args.js';
import { info, json as outJson } from '../output.js';
import { docForChecks, runWrite } from '../write.js';

/** Refuses (before any passphrase) a missing source or an existing target without --force; the vault checks again under the lock. */
export async function checkTransfer(ctx: Parameters<typeof docForChecks>[0], project: string, key: string, toProject: string, toKey: string, force: boolean): Promise<void> {
  const doc = await docForChecks(ctx);
  const { historyOf } = await import('../../core/vault/history.js');
  const { projectNotFound, keyNotFound } = await import('../../core/vault/vault.js');
  const h = historyOf(doc, project, key);
  if (h.removed_at) throw keyNotFound(project, key);
  if (!Object.hasOwn(doc.projects, toProject)) throw projectNotFound(toProject);
  const t = doc.projects[toProject]!;
  const exists = Object.hasOwn(t.entries, toKey) || (t.removed !== undefined && Object.hasOwn(t.removed, toKey));
  if (exists && !force && !(project === toProject && key === toKey)) {
    throw new SesameError('INVALID', `${toKey} already exists in project ${toProject}; nothing was changed`, {
      hint: 'pass --force to replace it (its versions are kept in the history), or choose another name',
    });
  }
}

const cmd: Command = {
  usage: 'mv KEY NEW [--force]\n\nexample:\n  sesame mv DB_URL DATABASE_URL',
  summary: 'rename a key in the current project, keeping its history (alias: rename)',
  flags: { force: { type: 'boolean', help: 'replace an existing NEW (its versions join the history)' } },
  maxPositionals: 2,
  async run(ctx, { positionals, flags }) {
    const [key, toKey] = positionals;
    if (!key || !toKey) throw usage('mv needs a KEY and a NEW name');
    checkKeyName(key);
    checkKeyName(toKey);
    const project = ctx.project().name;
    await checkTransfer(ctx, project, key, project, toKey, flags.force === true);
    const r = await runWrite(ctx, { op: 'mv', project, key, toProject: project, toKey, ...(flags.force ? { force: true } : {}) });
    if (ctx.json) outJson({ moved: key, to: toKey, project, result: r.result, version: r.version });
    else info(`renamed ${key} to ${toKey} in project ${project}${r.result === 'replaced' ? ' (the old value of the target is kept in its history)' : ''}`);
    return 0;
  },
};
export default cmd;
