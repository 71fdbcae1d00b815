/**
 * The two `passphrase` subcommands that handle a passphrase in the CLI itself:
 * - `reveal [--allow-redirect]`: shows the validated passphrase on /dev/tty (never stdout),
 *   then offers to mark it as saved; with --allow-redirect it goes to stdout, alone.
 * - `change`: the old passphrase from the chain, the new one from a twice-typed prompt (or
 *   stdin when stdin is not a terminal), then the core re-wraps and rewrites the tiers.
 * Buffers are wiped on every path.
 */
import { isatty } from 'node:tty';
import { SesameError } from '../../core/errors.js';
import type { Command } from '../command.js';
import { usage } from '../args.js';
import { info, out, json as outJson, warn } from '../output.js';

const wipe = (b: Buffer | null | undefined): void => {
  if (b) b.fill(0);
};

export const reveal: Command = {
  usage: 'passphrase reveal [--allow-redirect]\n\nexample:\n  sesame passphrase reveal',
  summary: 'show the passphrase on the terminal (stdout only with --allow-redirect)',
  flags: { 'allow-redirect': { type: 'boolean', help: 'write it to stdout (and nothing else), e.g. into a password manager' } },
  async run(ctx, { flags }) {
    const { hasTty, writeTty, confirmTyped, waitKey } = await import('../prompt.js');
    const toStdout = flags['allow-redirect'] === true;
    if (!toStdout && !hasTty()) {
      throw usage('reveal shows the passphrase on the terminal, and there is none', 'pass --allow-redirect to write it to stdout (nothing else is written there)');
    }
    const { readVault } = await import('../../core/vault/store.js');
    const { resolveValid } = await import('../../core/passphrase/manage.js');
    const { TIER_LABELS } = await import('../../core/passphrase/chain.js');
    const { isAcknowledged, recordAcknowledgement } = await import('../../core/passphrase/state.js');
    const doc = readVault(ctx.paths);
    const r = await resolveValid(await ctx.chain(), doc, []);
    const framed = toStdout
      ? Buffer.concat([r.passphrase, Buffer.from('\n')])
      : Buffer.concat([Buffer.from(`\nThe vault passphrase (from ${TIER_LABELS[r.tier]}):\n\n    `), r.passphrase, Buffer.from('\n\n')]);
    wipe(r.passphrase);
    await (await import('../audit-event.js')).auditEvent(ctx, { event: 'passphrase', outcome: 'ok', reason: 'reveal' });
    try {
      if (toStdout) out(framed);
      else {
        writeTty(framed);
        // Off the screen once read: up over what was shown, then clear to the end.
        await waitKey('Press any key to clear it from the screen… ');
        writeTty(Buffer.from(`\r\x1b[${framed.toString('latin1').split('\n').length - 1}A\x1b[J`));
      }
    } finally {
      wipe(framed);
    }
    if (isAcknowledged(ctx.paths, doc)) return 0;
    if (!toStdout && (await confirmTyped('Is it now stored somewhere safe, outside this machine?', 'saved'))) {
      recordAcknowledgement(ctx.paths, doc);
      info('marked as saved elsewhere');
    } else info('not marked as saved: run `sesame passphrase acknowledge` once it is stored safely');
    return 0;
  },
};

async function newPassphrase(requireStrong: boolean): Promise<Buffer> {
  const typed = isatty(0);
  const v = await readNewPassphrase();
  try {
    // Scored when typed, or with --require-strong (as at init).
    const { checkStrength } = await import('../strength.js');
    if (typed || requireStrong) await checkStrength(v, requireStrong);
  } catch (e) {
    wipe(v);
    throw e;
  }
  return v;
}

async function readNewPassphrase(): Promise<Buffer> {
  if (isatty(0)) {
    const { promptNewSecret } = await import('../prompt.js');
    return promptNewSecret('New vault passphrase: ', 'Repeat the new passphrase: ');
  }
  const { readStdin } = await import('./set.js');
  const { stripOneNewline } = await import('../../core/passphrase/sources.js');
  const raw = readStdin(64 * 1024);
  const v = Buffer.from(stripOneNewline(raw));
  wipe(raw);
  if (!v.length) throw new SesameError('INVALID', 'no new passphrase on stdin; nothing was changed', { hint: 'run it in a terminal, or pipe the new passphrase in' });
  return v;
}

export const change: Command = {
  usage: 'passphrase change [--require-strong]   (the new passphrase from a twice-typed prompt, or stdin)\n\nexample:\n  sesame passphrase change',
  summary: 'change the passphrase: re-wrap the master key and rewrite every tier that held the old one (a weak new one is warned about)',
  flags: { 'require-strong': { type: 'boolean', help: 'refuse a weak new passphrase instead of warning' } },
  async run(ctx, { flags }) {
    const { openForChange, applyChange } = await import('../../core/passphrase/change.js');
    const { TIER_LABELS } = await import('../../core/passphrase/chain.js');
    const chain = await ctx.chain();
    const opened = await openForChange(chain);
    let next: Buffer;
    try {
      next = await newPassphrase(flags['require-strong'] === true);
    } catch (e) {
      opened.vault.dispose();
      wipe(opened.old);
      throw e;
    }
    let report;
    try {
      report = await applyChange(chain, opened, next);
    } finally {
      wipe(next);
    }
    await (await import('../audit-event.js')).auditEvent(ctx, { event: 'passphrase', outcome: 'ok', reason: 'change' });
    if (ctx.json) outJson({ changed: true, from: report.from, rewritten: report.rewritten, failed: report.failed, recovery_in_session: report.recoveryInSession, stale: report.stale });
    else {
      info('changed the passphrase: the master key was re-wrapped (no secret re-encrypted; a running agent keeps serving)');
      if (report.rewritten.length) info(`rewrote ${report.rewritten.map((t) => TIER_LABELS[t]).join(', ')}`);
      for (const t of report.stale) warn(`${TIER_LABELS[t]} still gives the old passphrase: update it`);
      for (const f of report.failed) info(`error: could not rewrite ${TIER_LABELS[f.tier]}: ${f.message}`);
      if (report.recoveryInSession === true) info('the new passphrase is kept in the session tier until logout: fix the tier above and store it again (`sesame passphrase seal` / `to-keyring`)');
      if (report.recoveryInSession === false) warn('the new passphrase could not be kept in the session tier either: make sure you have it');
      info('the new passphrase is not marked as saved elsewhere yet: store it safely, then run `sesame passphrase acknowledge`');
    }
    return report.failed.length ? 1 : 0;
  },
};
