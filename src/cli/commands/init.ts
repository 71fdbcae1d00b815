/**
 * `sesame init`: usage, options, and one core call (core/vault/init.ts). The command
 * supplies what needs the user — the typed confirmation before a vault is replaced and the
 * new passphrase (SESAME_PASSPHRASE / _FILE, else a prompt) — and prints the outcome.
 */
import { SesameError } from '../../core/errors.js';
import type { Command } from '../command.js';
import { info, json as outJson } from '../output.js';
import { usage } from '../args.js';

const cmd: Command = {
  usage: 'init [--force [--yes]] [--kdf-memory MIB] [--kdf-passes N] [--require-strong]\n\nexample:\n  sesame init',
  summary: 'create the vault (idempotent: an existing vault is left untouched)',
  flags: {
    force: { type: 'boolean', help: 'recreate the vault (the old one is kept as a .bak file)' },
    yes: { type: 'boolean', help: 'with --force: do not ask for a typed confirmation' },
    'kdf-memory': { type: 'string', arg: 'MIB', help: 'Argon2id memory in MiB (default 64, 8 to 1024)' },
    'kdf-passes': { type: 'string', arg: 'N', help: 'Argon2id passes (default 3, 1 to 16)' },
    'require-strong': { type: 'boolean', help: 'refuse a weak passphrase instead of warning' },
  },
  async run(ctx, { flags }) {
    const kdf = kdfChoice(flags['kdf-memory'] as string | undefined, flags['kdf-passes'] as string | undefined);
    const { initVault } = await import('../../core/vault/init.js');
    const { hasTty, confirmTyped, promptNewSecret } = await import('../prompt.js');
    const r = await initVault(
      { force: flags.force === true, ...(kdf ? { kdf } : {}) },
      {
        paths: ctx.paths,
        env: ctx.env,
        async confirmReplace() {
          if (flags.yes === true) return;
          if (!hasTty()) throw usage('init --force would replace the existing vault; pass --yes to confirm when there is no terminal');
          const ok = await confirmTyped(`This replaces the vault at ${ctx.paths.vault} (a backup copy is kept).`, 'replace');
          if (!ok) throw new SesameError('USAGE', 'not confirmed; the vault was left untouched', { hint: 'type replace to confirm, or pass --yes' });
        },
        async newPassphrase() {
          const { envTier, fileTier } = await import('../../core/passphrase/sources.js');
          const chain = await ctx.chain();
          let pass = (await envTier.fetch(chain)) ?? (await fileTier.fetch(chain));
          const typed = !pass;
          if (!pass) {
            if (!hasTty()) {
              throw new SesameError('LOCKED', 'init needs a new passphrase and there is no terminal to ask for it', {
                hint: 'run it in a terminal, or set SESAME_PASSPHRASE_FILE to a 0600 file holding the new passphrase',
              });
            }
            pass = await promptNewSecret('New vault passphrase: ', 'Repeat the passphrase: ');
          }
          try {
            // Scored when a person typed it, or when asked to refuse weak ones (a scripted
            // init from a file or the environment does not load the estimator otherwise).
            const { checkStrength } = await import('../strength.js');
            if (typed || flags['require-strong'] === true) await checkStrength(pass, flags['require-strong'] === true);
          } catch (e) {
            pass.fill(0);
            throw e;
          }
          return pass;
        },
      },
    );
    if (!r.created) {
      if (ctx.json) outJson({ initialized: true, created: false, vault: r.vault });
      else info(`already initialized at ${r.vault}`);
      return 0;
    }
    await (await import('../audit-event.js')).auditEvent(ctx, { event: 'init', outcome: 'ok', ...(r.backup ? { reason: 'replaced' } : {}) });
    if (ctx.json) outJson({ initialized: true, created: true, vault: r.vault, vault_id: r.vaultId, ...(r.backup ? { backup: r.backup } : {}) });
    else {
      info(`initialized a new vault at ${r.vault}`);
      if (r.backup) info(`the previous vault was kept at ${r.backup}`);
      info('the passphrase cannot be recovered: without it the secrets are lost. Keep a copy somewhere safe (`sesame passphrase reveal`),');
      info('and to unlock without typing it: `sesame passphrase seal` (bound to this machine) or `sesame passphrase to-keyring`.');
      info('next: `sesame set KEY` to store a secret (or `sesame import .env`), then `sesame get KEY` or `sesame run -- CMD`');
    }
    return 0;
  },
};

/** The Argon2id choice from --kdf-memory / --kdf-passes (USAGE outside the documented bounds). */
function kdfChoice(mem: string | undefined, passes: string | undefined): { opslimit: number; memlimit: number } | undefined {
  if (mem === undefined && passes === undefined) return undefined;
  const m = mem === undefined ? 64 : Number(mem);
  const p = passes === undefined ? 3 : Number(passes);
  if (!Number.isInteger(m) || m < 8 || m > 1024) throw usage('--kdf-memory must be a whole number of MiB from 8 to 1024');
  if (!Number.isInteger(p) || p < 1 || p > 16) throw usage('--kdf-passes must be a whole number from 1 to 16');
  return { opslimit: p, memlimit: m * 1024 * 1024 };
}

export default cmd;
