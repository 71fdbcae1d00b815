/**
 * `sesame passphrase seal | to-keyring | reveal | acknowledge | destroy | change`: manage
 * the tiers that hold the vault passphrase (docs/unlock.md). Every command validates the
 * passphrase against the vault before it writes or removes anything.
 */
import { SesameError } from '../../core/errors.js';
import type { Command, Group } from '../command.js';
import { usage } from '../args.js';
import { info, json as outJson, warn } from '../output.js';
import { change, reveal } from './passphrase-secret.js';

const seal: Command = {
  usage: 'passphrase seal [--key host|tpm2|auto] [--yes]\n\nexample:\n  sesame passphrase seal --key auto',
  summary: "seal the passphrase with systemd-creds (this machine's host key and/or TPM2) for unattended unlock",
  flags: {
    key: { type: 'string', arg: 'KEY', help: 'host, tpm2 or auto (default auto: TPM2 and host key when a TPM2 exists, else host)' },
    yes: { type: 'boolean', help: 'seal even though the passphrase was not acknowledged as saved elsewhere' },
  },
  async run(ctx, { flags }) {
    const { SEAL_KEYS } = await import('../../core/passphrase/sealed.js');
    const key = (flags.key ?? 'auto') as string;
    if (!(SEAL_KEYS as readonly string[]).includes(key)) throw usage(`--key must be one of ${SEAL_KEYS.join(', ')}`);
    const { sealFromChain } = await import('../../core/passphrase/manage.js');
    const { TIER_LABELS } = await import('../../core/passphrase/chain.js');
    const r = await sealFromChain(await ctx.chain(), key as 'host' | 'tpm2' | 'auto', flags.yes === true);
    await (await import('../audit-event.js')).auditEvent(ctx, { event: 'passphrase', outcome: 'ok', reason: 'seal' });
    if (ctx.json) outJson({ sealed: true, key, source: r.tier, path: r.path });
    else info(`sealed the passphrase from ${TIER_LABELS[r.tier]} with systemd-creds (${key} key) in ${r.path}`);
    return 0;
  },
};

const toKeyring: Command = {
  usage: 'passphrase to-keyring [--yes]\n\nexample:\n  sesame passphrase to-keyring',
  summary: 'move the passphrase into the OS keyring (written, read back and compared before the source is removed)',
  flags: { yes: { type: 'boolean', help: 'store it even though the passphrase was not acknowledged as saved elsewhere' } },
  async run(ctx, { flags }) {
    const { moveToKeyring } = await import('../../core/passphrase/manage.js');
    const { TIER_LABELS } = await import('../../core/passphrase/chain.js');
    const r = await moveToKeyring(await ctx.chain(), flags.yes === true);
    await (await import('../audit-event.js')).auditEvent(ctx, { event: 'passphrase', outcome: 'ok', reason: 'to_keyring' });
    if (ctx.json) {
      outJson({ stored: true, source: r.tier, source_removed: r.removedSource });
      return 0;
    }
    info(`stored the passphrase from ${TIER_LABELS[r.tier]} in the OS keyring (read back and verified)`);
    if (r.removedSource) info(`removed it from ${TIER_LABELS[r.tier]}`);
    else if (r.tier === 'env' || r.tier === 'file' || r.tier === 'command') info(`${TIER_LABELS[r.tier]} still holds it: remove it if the keyring should be the only copy on this machine`);
    return 0;
  },
};

const acknowledge: Command = {
  usage: 'passphrase acknowledge\n\nexample:\n  sesame passphrase acknowledge',
  summary: 'mark the current passphrase as saved outside this machine (allows seal and to-keyring)',
  flags: {},
  async run(ctx) {
    const { readVault } = await import('../../core/vault/store.js');
    const { recordAcknowledgement, acknowledgedAt } = await import('../../core/passphrase/state.js');
    const doc = readVault(ctx.paths);
    recordAcknowledgement(ctx.paths, doc);
    await (await import('../audit-event.js')).auditEvent(ctx, { event: 'passphrase', outcome: 'ok', reason: 'acknowledge' });
    if (ctx.json) outJson({ acknowledged: true, at: acknowledgedAt(ctx.paths, doc) });
    else info('marked the current passphrase as saved elsewhere (a passphrase change clears this mark)');
    return 0;
  },
};

const destroy: Command = {
  usage: 'passphrase destroy [--yes]\n\nexample:\n  sesame passphrase destroy',
  summary: 'remove the passphrase from every persistent tier (sealed credential, OS keyring)',
  flags: { yes: { type: 'boolean', help: 'do not ask for a typed confirmation' } },
  async run(ctx, { flags }) {
    const { persistentTiers, destroyPersistent } = await import('../../core/passphrase/manage.js');
    const { TIER_LABELS } = await import('../../core/passphrase/chain.js');
    const { isAcknowledged } = await import('../../core/passphrase/state.js');
    const { readVault } = await import('../../core/vault/store.js');
    const chain = await ctx.chain();
    const tiers = await persistentTiers(chain);
    if (!tiers.length) {
      if (ctx.json) outJson({ removed: [], failed: [] });
      else info("nothing to destroy: no sealed credential and no OS keyring entry hold this vault's passphrase");
      return 0;
    }
    const acked = isAcknowledged(ctx.paths, readVault(ctx.paths));
    const text = `This removes the passphrase from ${tiers.map((t) => TIER_LABELS[t]).join(' and ')}. Without a copy outside this machine the vault is UNRECOVERABLE.${acked ? '' : ' The passphrase was never marked as saved elsewhere.'}`;
    if (flags.yes) warn(text);
    else {
      const { hasTty, confirmTyped } = await import('../prompt.js');
      if (!hasTty()) throw usage('destroy needs a typed confirmation and there is no terminal; pass --yes to confirm');
      if (!(await confirmTyped(text, 'destroy'))) throw new SesameError('USAGE', 'not confirmed; nothing was removed');
    }
    const r = await destroyPersistent(chain);
    await (await import('../audit-event.js')).auditEvent(ctx, { event: 'passphrase', outcome: r.failed.length ? 'error' : 'ok', reason: 'destroy' });
    if (ctx.json) outJson(r);
    else {
      info(r.removed.length ? `removed the passphrase from ${r.removed.map((t) => TIER_LABELS[t]).join(' and ')}` : 'nothing was removed');
      for (const f of r.failed) info(`error: could not remove it from ${TIER_LABELS[f.tier]}: ${f.message}`);
    }
    return r.failed.length ? 1 : 0;
  },
};

const group: Group = {
  summary: 'manage where the vault passphrase is kept',
  subcommands: { seal, 'to-keyring': toKeyring, reveal, acknowledge, destroy, change },
};
export default group;
