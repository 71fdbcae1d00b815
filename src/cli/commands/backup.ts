/**
 * `sesame backup [FILE] [--force]`: a copy of the encrypted vault; `sesame backup restore
 * FILE`: put one back (verified with the passphrase first, the old vault kept). `restore`
 * alone (without `backup`) undoes an `rm` of one key: the two never share a command word.
 */
import * as path from 'node:path';
import { SesameError } from '../../core/errors.js';
import type { Command } from '../command.js';
import { usage } from '../args.js';
import { info, json as outJson } from '../output.js';

const cmd: Command = {
  usage: 'backup [FILE] [--force]   |   backup restore FILE\n\nexamples:\n  sesame backup                       # ./sesame-vault-20261201T020304Z.json\n  sesame backup restore ~/vault-copy.json',
  summary: 'copy the encrypted vault to FILE (0600), or put a backup back (`backup restore FILE`)',
  flags: { force: { type: 'boolean', help: 'replace an existing FILE (backup only)' } },
  maxPositionals: 2,
  async run(ctx, { positionals, flags }) {
    const { backupVault, restoreBackup, fileStamp } = await import('../../core/vault/backup.js');
    if (positionals[0] === 'restore') {
      const file = positionals[1];
      if (!file) throw usage('backup restore needs a FILE', 'a backup named "restore" is `./restore`');
      if (flags.force) throw usage('backup restore takes no --force: the current vault is always kept as vault.json.bak-TIMESTAMP');
      if (process.platform === 'linux') (await import('../../core/os/native.js')).requireHardening('sesame');
      const { resolvePassphrase } = await import('../../core/passphrase/chain.js');
      const { passphrase } = await resolvePassphrase(await ctx.chain());
      let kept: string | null;
      try {
        ({ kept } = restoreBackup(ctx.paths, ctx.env, path.resolve(file), passphrase));
      } catch (e) {
        if (e instanceof SesameError && (e.code === 'WRONG_PASSPHRASE' || e.code === 'INTEGRITY')) {
          throw new SesameError(e.code, `${e.message}; the backup was not restored and nothing was replaced`, { hint: 'check the file and the passphrase it was made with' });
        }
        throw e;
      } finally {
        passphrase.fill(0);
      }
      await (await import('../audit-event.js')).auditEvent(ctx, { event: 'backup_restore', outcome: 'ok' });
      if (ctx.json) outJson({ restored: path.resolve(file), kept });
      else info(`restored the vault from ${file}${kept ? `; the previous vault is kept as ${kept}` : ''} (a running agent must be restarted)`);
      return 0;
    }
    if (positionals.length > 1) throw usage('backup takes at most one FILE', 'to put a backup back: `sesame backup restore FILE`');
    const target = path.resolve(positionals[0] ?? `sesame-vault-${fileStamp()}.json`);
    let n: number;
    try {
      n = backupVault(ctx.paths, ctx.env, target, { force: flags.force === true });
    } catch (e) {
      if (e instanceof SesameError && (e.detail as { errno?: unknown } | undefined)?.errno === 'EEXIST') {
        throw new SesameError('ERROR', `${target} already exists; it was left as it was`, { hint: 'choose another FILE, or pass --force to replace it', detail: { errno: 'EEXIST', path: target } });
      }
      throw e;
    }
    if (ctx.json) outJson({ backup: target, bytes: n });
    else info(`backed up the vault to ${target} (encrypted; it opens with the passphrase it has now)`);
    return 0;
  },
};
export default cmd;
