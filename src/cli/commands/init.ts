import * as fs from 'node:fs';
import { SesameError } from '../../core/errors.js';
import type { Command } from '../command.js';
import { info, json as outJson } from '../output.js';
import { usage } from '../args.js';

const cmd: Command = {
  usage: 'init [--force [--yes]] [--kdf-memory MIB] [--kdf-passes N]',
  summary: 'create the vault (idempotent: an existing vault is left untouched)',
  flags: {
    force: { type: 'boolean', help: 'recreate the vault (the old one is kept as a .bak file)' },
    yes: { type: 'boolean', help: 'with --force: do not ask for a typed confirmation' },
    'kdf-memory': { type: 'string', arg: 'MIB', help: 'Argon2id memory in MiB (default 64, 8 to 1024)' },
    'kdf-passes': { type: 'string', arg: 'N', help: 'Argon2id passes (default 3, 1 to 16)' },
  },
  async run(ctx, { flags }) {
    const { ensurePrivateDir } = await import('../../core/fs/secure.js');
    const { vaultExists } = await import('../../core/vault/store.js');
    ensurePrivateDir(ctx.paths.home, { create: true });
    const exists = vaultExists(ctx.paths);
    if (exists && !flags.force) {
      if (ctx.json) outJson({ initialized: true, created: false, vault: ctx.paths.vault });
      else info(`already initialized at ${ctx.paths.vault}`);
      return 0;
    }
    const { hasTty, confirmTyped, promptNewSecret } = await import('../prompt.js');
    if (exists && !flags.yes) {
      if (!hasTty()) throw usage('init --force would replace the existing vault; pass --yes to confirm when there is no terminal');
      const ok = await confirmTyped(`This replaces the vault at ${ctx.paths.vault} (a backup copy is kept).`, 'replace');
      if (!ok) throw new SesameError('USAGE', 'not confirmed; the vault was left untouched');
    }
    const kdf = kdfChoice(flags['kdf-memory'] as string | undefined, flags['kdf-passes'] as string | undefined);
    const { envTier, fileTier } = await import('../../core/passphrase/sources.js');
    const chain = await ctx.chain();
    let pass = (await envTier.fetch(chain)) ?? (await fileTier.fetch(chain));
    if (!pass) {
      if (!hasTty()) {
        throw new SesameError('LOCKED', 'init needs a new passphrase and there is no terminal to ask for it', {
          hint: 'run it in a terminal, or set SESAME_PASSPHRASE_FILE to a 0600 file holding the new passphrase',
        });
      }
      pass = await promptNewSecret('New vault passphrase: ', 'Repeat the passphrase: ');
    }
    let backup: string | undefined;
    if (exists) {
      backup = `${ctx.paths.vault}.${new Date().toISOString().replace(/[:.]/g, '-')}.bak`;
      fs.copyFileSync(ctx.paths.vault, backup, fs.constants.COPYFILE_EXCL);
      fs.chmodSync(backup, 0o600);
    }
    const { createVault } = await import('../../core/vault/store.js');
    try {
      const v = createVault(ctx.paths, pass, kdf, ctx.env);
      const id = v.vaultId;
      v.dispose();
      if (ctx.json) outJson({ initialized: true, created: true, vault: ctx.paths.vault, vault_id: id, ...(backup ? { backup } : {}) });
      else {
        info(`initialized a new vault at ${ctx.paths.vault}`);
        if (backup) info(`the previous vault was kept at ${backup}`);
      }
    } finally {
      pass.fill(0);
    }
    return 0;
  },
};

function kdfChoice(mem: string | undefined, passes: string | undefined): { opslimit: number; memlimit: number } | undefined {
  if (mem === undefined && passes === undefined) return undefined;
  const m = mem === undefined ? 64 : Number(mem);
  const p = passes === undefined ? 3 : Number(passes);
  if (!Number.isInteger(m) || m < 8 || m > 1024) throw usage('--kdf-memory must be a whole number of MiB from 8 to 1024');
  if (!Number.isInteger(p) || p < 1 || p > 16) throw usage('--kdf-passes must be a whole number from 1 to 16');
  return { opslimit: p, memlimit: m * 1024 * 1024 };
}

export default cmd;
