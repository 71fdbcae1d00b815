/**
 * `sesame unlock [--force]`: validate the passphrase against the vault, then keep it in the
 * session tier (kernel session keyring, else a tmpfs file) until logout or `sesame lock`.
 * A wrong passphrase writes nothing. Refuses to shadow a durable tier without --force.
 */
import type { Command } from '../command.js';
import { info, json as outJson } from '../output.js';

const cmd: Command = {
  usage: 'unlock [--force]\n\nexample:\n  sesame unlock',
  summary: 'keep the passphrase for this login session (kernel keyring or tmpfs) so commands stop asking',
  flags: {
    force: { type: 'boolean', help: 'cache it even though the OS keyring or a sealed credential already unlocks the vault' },
  },
  async run(ctx, { flags }) {
    const { unlockSession } = await import('../../core/passphrase/manage.js');
    const { TIER_LABELS } = await import('../../core/passphrase/chain.js');
    const r = await unlockSession(await ctx.chain(), flags.force === true);
    await (await import('../audit-event.js')).auditEvent(ctx, { event: 'unlock', outcome: 'ok', reason: r.tier });
    if (ctx.json) outJson({ unlocked: true, source: r.tier, store: r.store });
    else {
      const where = r.store === 'kernel' ? 'the kernel session keyring' : 'a tmpfs file in XDG_RUNTIME_DIR';
      info(`unlocked: the passphrase from ${TIER_LABELS[r.tier]} is kept in ${where} until logout or \`sesame lock\``);
    }
    return 0;
  },
};
export default cmd;
