/**
 * Importing a dotenv file into a project: read it through the secure-file door (a regular
 * file, at most MAX_IMPORT_BYTES), parse it strictly (dotenv-parse.ts), refuse it whole
 * when any line would not be taken exactly as written (unless lenient), then write every
 * taken entry as one `import` write (writes.ts WriteOp): all or nothing, under the vault lock,
 * atomically — made by the caller's `write` (the CLI: through a --writes agent or directly).
 *
 * Security contract: no message, warning or report names a value or any byte of a line that
 * was not taken; values stay in Buffers and are wiped before this returns, whatever happens.
 */
import { SesameError } from '../errors.js';
import { readRegularFile } from '../fs/secure.js';
import type { HomePaths } from '../paths.js';
import { describeIssue, parseDotenv, type DotenvIssue } from './dotenv-parse.js';
import { readVault } from './store.js';
import type { WriteOp, WriteResult } from './writes.js';

/** The largest file `import` reads. */
export const MAX_IMPORT_BYTES = 16 * 1024 * 1024;

export interface ImportOptions {
  overwrite?: boolean;
  dryRun?: boolean;
  /** Skip lines that cannot be taken exactly as written (each is reported) instead of refusing the file. */
  lenient?: boolean;
  allowEmpty?: boolean;
}

export interface ImportReport {
  project: string;
  dry_run: boolean;
  added: string[];
  skipped: string[];
  overwritten: string[];
  /** Lines not taken (lenient), by number and reason. */
  refused: Array<{ line: number; reason: string; name?: string }>;
}

export interface ImportDeps {
  paths: HomePaths;
  env: NodeJS.ProcessEnv;
  /**
   * Makes the one `import` write (writes.ts `writeVault` semantics: all or nothing); called
   * once, only when something will be written. Its values are wiped here afterwards.
   */
  write: (w: WriteOp & { op: 'import' }) => Promise<WriteResult>;
  /** One line per issue (stderr in the CLI). */
  warn: (msg: string) => void;
}

/**
 * Imports `file` into `project` through `deps.write`. INVALID (nothing written) when any line is ambiguous and
 * not lenient; every issue has been passed to `warn` first. NOT_FOUND when the project or
 * file is missing. Existing keys are skipped unless `overwrite`.
 */
export async function importDotenv(file: string, project: string, opts: ImportOptions, deps: ImportDeps): Promise<ImportReport> {
  const doc = readVault(deps.paths);
  const p = Object.hasOwn(doc.projects, project) ? doc.projects[project] : undefined;
  if (!p) throw new SesameError('NOT_FOUND', `project ${project} does not exist`, { remedy: 'projects_list' });
  const text = readRegularFile(file, 'import file', { maxBytes: MAX_IMPORT_BYTES });
  let parsed;
  try {
    parsed = parseDotenv(text, { allowEmpty: opts.allowEmpty === true });
  } finally {
    text.fill(0);
  }
  const { entries, issues } = parsed;
  try {
    for (const is of issues) deps.warn(`${file}: ${opts.lenient ? 'skipped ' : ''}${describeIssue(is)}`);
    if (issues.length && !opts.lenient) {
      throw new SesameError('INVALID', `${file} has ${issues.length} line${issues.length === 1 ? '' : 's'} that cannot be imported exactly as written (listed above); nothing was imported`, {
        remedy: 'import_lenient',
        detail: { issues: issues.map(issueJson) },
      });
    }
    const report: ImportReport = { project, dry_run: opts.dryRun === true, added: [], skipped: [], overwritten: [], refused: issues.map(issueJson) };
    for (const e of entries) {
      if (!Object.hasOwn(p.entries, e.name)) report.added.push(e.name);
      else if (opts.overwrite) report.overwritten.push(e.name);
      else report.skipped.push(e.name);
    }
    const write = new Set([...report.added, ...report.overwritten]);
    if (!report.dry_run && write.size > 0) {
      const r = await deps.write({
        op: 'import',
        project,
        entries: entries.filter((e) => write.has(e.name)).map((e) => [e.name, e.value] as const),
        ...(opts.overwrite ? { overwrite: true } : {}),
      });
      // A key that appeared since the plan was left alone (never overwritten unasked): skipped.
      const written = new Set(r.keys);
      report.skipped.push(...report.added.filter((k) => !written.has(k)));
      report.added = report.added.filter((k) => written.has(k));
    }
    return report;
  } finally {
    for (const e of entries) e.value.fill(0);
  }
}

function issueJson(is: DotenvIssue): { line: number; reason: string; name?: string } {
  return { line: is.line, reason: is.reason, ...(is.name ? { name: is.name } : {}) };
}
