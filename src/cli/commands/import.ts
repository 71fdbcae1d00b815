import * as fs from 'node:fs';
import { SesameError } from '../../core/errors.js';
import { isValidKeyName, KEY_NAME_RULE } from '../../core/home.js';
import type { Command } from '../command.js';
import { usage } from '../args.js';
import { info, json as outJson } from '../output.js';

const cmd: Command = {
  usage: 'import FILE.env [--overwrite] [--dry-run]',
  summary: 'import KEY=value lines from a dotenv file (existing keys are skipped unless --overwrite)',
  flags: {
    overwrite: { type: 'boolean', help: 'replace keys that already exist' },
    'dry-run': { type: 'boolean', help: 'report what would happen and change nothing' },
  },
  maxPositionals: 1,
  async run(ctx, { positionals, flags }) {
    const file = positionals[0];
    if (!file) throw usage('import needs a FILE');
    const project = ctx.project().name;
    const { readVault } = await import('../../core/vault/store.js');
    const doc = readVault(ctx.paths);
    const p = Object.hasOwn(doc.projects, project) ? doc.projects[project] : undefined;
    if (!p) throw new SesameError('NOT_FOUND', `project ${project} does not exist`);
    let text: Buffer;
    try {
      text = fs.readFileSync(file);
    } catch (e) {
      throw new SesameError('NOT_FOUND', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const dotenv = await import('dotenv');
    const parse = dotenv.parse ?? (dotenv as unknown as { default: typeof dotenv }).default.parse;
    const parsed = parse(text);
    text.fill(0);
    const names = Object.keys(parsed);
    const bad = names.filter((n) => !isValidKeyName(n));
    if (bad.length) {
      throw new SesameError('INVALID', `${file} has invalid key names: ${bad.slice(0, 10).join(', ')}${bad.length > 10 ? ', …' : ''}; nothing was imported`, { hint: KEY_NAME_RULE });
    }
    const added: string[] = [];
    const skipped: string[] = [];
    const overwritten: string[] = [];
    for (const n of names) {
      if (!Object.hasOwn(p.entries, n)) added.push(n);
      else if (flags.overwrite) overwritten.push(n);
      else skipped.push(n);
    }
    const dry = flags['dry-run'] === true;
    if (!dry && added.length + overwritten.length > 0) {
      const { unlockDirect } = await import('../unlock.js');
      const { mutateVault } = await import('../../core/vault/store.js');
      const v = await unlockDirect(ctx);
      try {
        mutateVault(ctx.paths, v.master, ctx.env, (w) => {
          for (const n of [...added, ...overwritten]) {
            const b = Buffer.from(parsed[n]!, 'utf8');
            w.set(project, n, b);
            b.fill(0);
          }
        });
      } finally {
        v.dispose();
      }
    }
    if (ctx.json) outJson({ project, dry_run: dry, added, skipped, overwritten });
    else {
      const pre = dry ? 'would import' : 'imported';
      info(`${pre} into project ${project}: ${added.length} added, ${skipped.length} skipped, ${overwritten.length} overwritten`);
      if (added.length) info(`  added: ${added.join(', ')}`);
      if (skipped.length) info(`  skipped (exist; use --overwrite): ${skipped.join(', ')}`);
      if (overwritten.length) info(`  overwritten: ${overwritten.join(', ')}`);
    }
    return 0;
  },
};
export default cmd;
