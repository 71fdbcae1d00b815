/**
 * A project per directory: the `.sesame.toml` nearest the working directory names the
 * project (and optionally the `only`/`prefix` selection) for commands run below it.
 *
 * The walk: from the working directory up to and including $HOME when the working
 * directory is inside $HOME (a file in /home or / never applies to you), else up to the
 * filesystem root. The first directory holding a `.sesame.toml` wins; the walk costs one
 * failed open() per level and loads no TOML parser unless a file is found.
 *
 * Trust: a found file is read through the secure read door (readPrivateFileStat): opened
 * O_NOFOLLOW|O_NONBLOCK, fstat'd, and refused (INSECURE, never skipped) when it is a
 * symlink, not a regular file, not owned by you, or writable by group or others — a
 * hostile `.sesame.toml` dropped in a shared directory (/tmp, a team checkout) stops the
 * command loudly instead of silently redirecting it. `-p` and SESAME_PROJECT are checked
 * before the walk, so they always escape a refused file. Only `project`, `only` and
 * `prefix` are accepted; any other key, or a value of the wrong shape, is INVALID.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { SesameError } from './errors.js';
import { readPrivateFileStat } from './fs/secure.js';

/** The name of the per-directory project file the walk looks for. */
export const PROJECT_FILE_NAME = '.sesame.toml';
/** A project file larger than this is refused (it holds three short keys). */
const MAX_PROJECT_FILE = 64 * 1024;

/** What a `.sesame.toml` says. Names are checked by the caller (names.ts owns the name rules). */
export interface ProjectFile {
  /** The absolute path of the file that was read. */
  file: string;
  project: string;
  only?: string[];
  prefix?: string;
}

/**
 * The directories searched, nearest first: `cwd` and its parents, stopping at `home` when
 * `cwd` is `home` or inside it, else at the filesystem root. Pure.
 */
export function searchDirs(cwd: string, home: string | undefined): string[] {
  const start = path.resolve(cwd);
  const stop = home && path.isAbsolute(home) ? path.resolve(home) : undefined;
  const inside = stop !== undefined && (start === stop || start.startsWith(stop.endsWith(path.sep) ? stop : stop + path.sep));
  const dirs: string[] = [];
  for (let d = start; ; d = path.dirname(d)) {
    dirs.push(d);
    if ((inside && d === stop) || path.dirname(d) === d) return dirs;
  }
}

/**
 * The nearest `.sesame.toml` above `cwd` (see the module comment for the walk and the
 * trust rules), parsed; null when there is none. Throws INSECURE for a file sesame must
 * not trust and INVALID for one it cannot understand; the message names the file.
 */
export function findProjectFile(cwd: string, home: string | undefined): ProjectFile | null {
  for (const dir of searchDirs(cwd, home)) {
    const file = path.join(dir, PROJECT_FILE_NAME);
    let read: ReturnType<typeof readPrivateFileStat>;
    try {
      read = readPrivateFileStat(file, 'project file', { forbid: 0o022, maxBytes: MAX_PROJECT_FILE });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // An unreadable or non-directory parent is no project file, not an error.
      if (code === 'EACCES' || code === 'ENOTDIR' || code === 'EPERM') continue;
      if (e instanceof SesameError) throw new SesameError(e.code, e.message, { hint: `${e.hint ?? 'fix or remove it'}; or bypass it with -p NAME or SESAME_PROJECT` });
      throw e;
    }
    if (read) {
      try {
        return parseProjectFile(file, read.data.toString('utf8'));
      } finally {
        read.data.fill(0);
      }
    }
  }
  return null;
}

/** The working directory, or undefined when it was removed under us (then no file applies). */
export function currentDir(): string | undefined {
  try {
    return process.cwd();
  } catch {
    return undefined;
  }
}

/** Parses a project file's text (TOML: `project = "NAME"`, optional `only = ["K", …]`, `prefix = "P"`). */
export function parseProjectFile(file: string, text: string): ProjectFile {
  const bad = (why: string): SesameError => new SesameError('INVALID', `project file ${file}: ${why}`, { hint: 'it takes: project = "NAME", and optionally only = ["KEY", …] and prefix = "P"' });
  let doc: Record<string, unknown>;
  try {
    // Loaded here, not at module load: `get`'s fast path pays for the parser only when a file exists.
    const toml = createRequire(import.meta.url)('smol-toml') as { parse(s: string): Record<string, unknown> };
    doc = toml.parse(text);
  } catch (e) {
    throw bad(`not valid TOML (${e instanceof Error ? (e.message.split('\n')[0] ?? '') : 'parse error'})`);
  }
  for (const k of Object.keys(doc)) if (k !== 'project' && k !== 'only' && k !== 'prefix') throw bad(`unknown key ${JSON.stringify(k.slice(0, 64))}`);
  const { project, only, prefix } = doc;
  if (typeof project !== 'string') throw bad('`project` must be a string');
  const out: ProjectFile = { file, project };
  if (only !== undefined) {
    if (!Array.isArray(only) || !only.every((x): x is string => typeof x === 'string')) throw bad('`only` must be an array of key names');
    out.only = only;
  }
  if (prefix !== undefined) {
    if (typeof prefix !== 'string') throw bad('`prefix` must be a string');
    out.prefix = prefix;
  }
  return out;
}
