import type { Command } from '../command.js';
import { usage } from '../args.js';
import { info, json as outJson, warn } from '../output.js';

const cmd: Command = {
  usage: 'import FILE.env [--overwrite] [--dry-run] [--lenient] [--allow-empty]\n\nexample:\n  sesame import .env --dry-run',
  summary: 'import KEY=value lines from a dotenv file (strict: an ambiguous line refuses the file unless --lenient)',
  flags: {
    overwrite: { type: 'boolean', help: 'replace keys that already exist' },
    'dry-run': { type: 'boolean', help: 'report what would happen (names only) and change nothing' },
    lenient: { type: 'boolean', help: 'skip lines that cannot be taken exactly as written (each is reported) instead of refusing the file' },
    'allow-empty': { type: 'boolean', help: 'import empty values (refused by default)' },
  },
  maxPositionals: 1,
  async run(ctx, { positionals, flags }) {
    const file = positionals[0];
    if (!file) throw usage('import needs a FILE');
    const project = ctx.project().name;
    const { importDotenv } = await import('../../core/vault/import.js');
    const { runWrite } = await import('../write.js');
    // One write path (cli/write.ts): through a --writes agent when one runs and the values fit
    // one request line, else a direct unlock; audited as `import` either way.
    const r = await importDotenv(
      file,
      project,
      { overwrite: flags.overwrite === true, dryRun: flags['dry-run'] === true, lenient: flags.lenient === true, allowEmpty: flags['allow-empty'] === true },
      { paths: ctx.paths, env: ctx.env, write: (w) => runWrite(ctx, w), warn },
    );
    if (ctx.json) outJson(r);
    else {
      const pre = r.dry_run ? 'would import' : 'imported';
      info(
        `${pre} into project ${project}: ${r.added.length} added, ${r.skipped.length} skipped, ${r.overwritten.length} overwritten${r.refused.length ? `, ${r.refused.length} line${r.refused.length === 1 ? '' : 's'} not taken` : ''}`,
      );
      if (r.added.length) info(`  added: ${r.added.join(', ')}`);
      if (r.skipped.length) info(`  skipped (exist; use --overwrite): ${r.skipped.join(', ')}`);
      if (r.overwritten.length) info(`  overwritten: ${r.overwritten.join(', ')}`);
    }
    return 0;
  },
};
export default cmd;
