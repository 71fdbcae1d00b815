/**
 * Profiles (docs/tokens-and-profiles.md): `$SESAME_HOME/profiles/<name>.toml`, one per socket
 * the agent will serve (`sockets/<name>.sock`). Parsed with smol-toml and validated field by
 * field; every error names the file and the LINE (smol-toml's own position for bad TOML, the
 * offending key's line for a bad field), so `profile check`, start and reload can say where.
 *
 * Fields (docs/tokens-and-profiles.md has the table):
 *   projects (required, project names) · keys (required, key globs) · reveal (false) ·
 *   commands (absolute, normalised paths; exec runs only these, by real path pinned at load: agent/exec/resolve.ts) · env (table NAME = "value";
 *   key-name rule, no loader/startup hooks: envnames.ts) · peer ("same-uid" | "any" | [uids]) ·
 *   require_token (false) · rate_limit ("N/sec|min|hour") · ttl (duration) ·
 *   approval_timeout (duration; used by a later issue).
 * Anything else is refused. A profile directory that exists but holds no profile is refused.
 *
 * Files: the directory must be ours and not writable by group or others; each profile must
 * be a regular file (no symlink, no FIFO), ours, not group/other-writable (profiles are
 * trusted configuration, not secrets: others may read them), at most 256 KiB. Files whose
 * names start with `.` or do not end in `.toml` are ignored (editor backups). Nothing here
 * is secret; messages may name files, lines, fields and project names.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { parseDurationText } from '../duration.js';
import { isUnsafeEnvName } from '../envnames.js';
import { SesameError } from '../errors.js';
import { readPrivateFileStat } from '../fs/secure.js';
import { isValidKeyName, isValidProjectName } from '../names.js';
import { isValidKeyGlob, type PeerRule, type ProfilePolicy } from './authorize.js';
import { parseRateLimit, type RateLimit } from './rate.js';

/** Profile names: 1–32 of letters, digits, `_` and `-`, starting with a letter or digit (safe as a file name, a socket name and a bind-mount argument). */
export const PROFILE_NAME_RULE = 'a profile name must match [A-Za-z0-9][A-Za-z0-9_-]* and be at most 32 characters';
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
const MAX_PROFILE_BYTES = 256 * 1024;

/** True for a valid profile name (PROFILE_NAME_RULE). */
export function isValidProfileName(name: string): boolean {
  return NAME_RE.test(name);
}

/** A validated profile: the policy authorize() uses, plus what exec and the listener use. */
export interface Profile extends ProfilePolicy {
  readonly file: string;
  /** Absolute paths exec may run (empty: none); realpath'd at load and enforced by agent/exec/resolve.ts. */
  readonly commands: readonly string[];
  /** Variables exec sets, by name (a Map: names are user input). */
  readonly env: ReadonlyMap<string, string>;
  readonly rateLimit?: RateLimit;
  /** The profile socket closes this long after the agent opens it. */
  readonly ttlMs?: number;
  readonly approvalTimeoutMs?: number;
}

/** One problem in one file: where (line null when the whole file is at fault) and what. */
export interface ProfileProblem {
  readonly file: string;
  readonly line: number | null;
  readonly message: string;
}

/** The profiles directory of a home. */
export function profilesDir(home: string): string {
  return path.join(home, 'profiles');
}

const FIELDS = new Set(['projects', 'keys', 'reveal', 'commands', 'env', 'peer', 'require_token', 'rate_limit', 'ttl', 'approval_timeout']);

/**
 * Parses and validates one profile's text. Returns the profile, or every problem found
 * (each with its line). Never throws.
 */
export function parseProfile(name: string, file: string, text: string): { profile: Profile } | { problems: ProfileProblem[] } {
  if (!isValidProfileName(name)) return { problems: [{ file, line: null, message: `bad file name: ${PROFILE_NAME_RULE}` }] };
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (e) {
    if (e instanceof TomlError) {
      const what = (e.message.split('\n')[0] ?? '').replace(/^Invalid TOML document:\s*/, '');
      return { problems: [{ file, line: e.line, message: `bad TOML (column ${e.column}): ${what}` }] };
    }
    return { problems: [{ file, line: null, message: 'bad TOML' }] };
  }
  const problems: ProfileProblem[] = [];
  const bad = (key: string, message: string, table?: string): void => {
    problems.push({ file, line: lineOf(text, key, table), message });
  };
  for (const k of Object.keys(doc)) if (!FIELDS.has(k)) bad(k, `unknown field ${JSON.stringify(k.slice(0, 64))} (known: ${[...FIELDS].join(', ')})`);

  const strings = (k: string, ok: (s: string) => boolean, rule: string, required: boolean): string[] => {
    const v = doc[k];
    if (v === undefined) {
      if (required) problems.push({ file, line: null, message: `${k} is missing (${rule})` });
      return [];
    }
    if (!Array.isArray(v) || (required && v.length === 0)) {
      bad(k, `${k} must be a ${required ? 'non-empty ' : ''}list of ${rule}`);
      return [];
    }
    const out: string[] = [];
    for (const x of v) {
      if (typeof x !== 'string' || !ok(x)) bad(k, `${k}: ${typeof x === 'string' ? JSON.stringify(x.slice(0, 64)) : `a ${typeOf(x)}`} is not one of ${rule}`);
      else out.push(x);
    }
    return out;
  };
  const projects = strings('projects', isValidProjectName, 'project names', true);
  const keys = strings('keys', isValidKeyGlob, 'key globs ([A-Za-z0-9_*?], 1–256 characters)', true);
  const commands = strings('commands', (p) => path.isAbsolute(p) && path.normalize(p) === p && !p.includes('\0') && !p.endsWith('/'), 'absolute, normalised paths to programs', false);
  const bool = (k: string): boolean => {
    const v = doc[k];
    if (v === undefined) return false;
    if (typeof v !== 'boolean') bad(k, `${k} must be true or false, not a ${typeOf(v)}`);
    return v === true;
  };
  const reveal = bool('reveal');
  const requireToken = bool('require_token');
  const peer = peerOf(doc.peer, (m) => {
    bad('peer', m);
  });
  const env = envOf(doc.env, text, file, problems);
  const duration = (k: string): number | undefined => {
    const v = doc[k];
    if (v === undefined) return undefined;
    const r = typeof v === 'string' ? parseDurationText(v) : { error: `a string like "8h" is needed, not a ${typeOf(v)}` };
    if ('error' in r) bad(k, `${k}: ${r.error}`);
    else if (r.ms === 0) bad(k, `${k} must be more than 0 (leave it out for none)`);
    else return r.ms;
    return undefined;
  };
  const ttlMs = duration('ttl');
  const approvalTimeoutMs = duration('approval_timeout');
  let rateLimit: RateLimit | undefined;
  if (doc.rate_limit !== undefined) {
    const r = typeof doc.rate_limit === 'string' ? parseRateLimit(doc.rate_limit) : { error: `a string like "100/min" is needed, not a ${typeOf(doc.rate_limit)}` };
    if ('error' in r) bad('rate_limit', `rate_limit: ${r.error}`);
    else rateLimit = r;
  }
  if (problems.length) return { problems };
  return {
    profile: Object.freeze({
      name,
      file,
      projects: Object.freeze(projects),
      keys: Object.freeze(keys),
      reveal,
      peer,
      requireToken,
      commands: Object.freeze(commands),
      env,
      ...(rateLimit ? { rateLimit } : {}),
      ...(ttlMs !== undefined ? { ttlMs } : {}),
      ...(approvalTimeoutMs !== undefined ? { approvalTimeoutMs } : {}),
    }),
  };
}

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return 'list';
  if (v !== null && typeof v === 'object') return v instanceof Date ? 'date' : 'table';
  return typeof v === 'number' ? 'number' : typeof v;
}

/** The largest uid a peer list may name (uid_t is 32 bits; -1 is "none"). */
const MAX_UID = 0xfffffffe;

function peerOf(v: unknown, bad: (m: string) => void): PeerRule {
  if (v === undefined || v === 'same-uid') return 'same-uid';
  if (v === 'any') return 'any';
  if (Array.isArray(v) && v.length > 0 && v.every((u) => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0 && u <= MAX_UID)) return Object.freeze([...(v as number[])]);
  bad('peer must be "same-uid", "any", or a non-empty list of uids (whole numbers)');
  return 'same-uid';
}

function envOf(v: unknown, text: string, file: string, problems: ProfileProblem[]): ReadonlyMap<string, string> {
  const env = new Map<string, string>();
  if (v === undefined) return env;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Date) {
    problems.push({ file, line: lineOf(text, 'env'), message: 'env must be a table of NAME = "value"' });
    return env;
  }
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    const line = lineOf(text, k, 'env') ?? lineOf(text, 'env');
    if (!isValidKeyName(k)) problems.push({ file, line, message: `env: ${JSON.stringify(k.slice(0, 64))} is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)` });
    else if (isUnsafeEnvName(k)) problems.push({ file, line, message: `env: refusing ${k}: it changes how programs load or start` });
    else if (typeof val !== 'string' || val.includes('\0') || val.length > 65536) problems.push({ file, line, message: `env: ${k} must be a string (no NUL, at most 64 KiB)` });
    else env.set(k, val);
  }
  return env;
}

/**
 * The 1-based line where `key` is defined: in `table` (after its `[table]` header) when
 * given, else at the top level (before any header); a top-level key that is a table is
 * found by its `[key]` header. A plain line scan, good for the shapes a profile has; null
 * when not found. Pure.
 */
export function lineOf(text: string, key: string, table?: string): number | null {
  const lines = text.split('\n');
  const esc = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const keyRe = new RegExp(`^\\s*(?:${esc}|"${esc}"|'${esc}')\\s*=`);
  const headerRe = /^\s*\[\s*("?)([^\]"]*)\1\s*\]/;
  let current: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const h = headerRe.exec(line);
    if (h) {
      current = h[2]!.trim();
      if (table === undefined && current === key) return i + 1;
      continue;
    }
    if (current === table && keyRe.test(line)) return i + 1;
  }
  return null;
}

/** Checks the profiles directory: a real directory, ours, not writable by group or others. */
function checkDir(dir: string): ProfileProblem | null {
  const st = fs.lstatSync(dir);
  const me = typeof process.getuid === 'function' ? process.getuid() : -1;
  if (!st.isDirectory()) return { file: dir, line: null, message: st.isSymbolicLink() ? 'is a symlink; refusing to follow it' : 'is not a directory' };
  if (me >= 0 && st.uid !== me) return { file: dir, line: null, message: `is owned by uid ${st.uid}, not by you (uid ${me})` };
  if (st.mode & 0o022) return { file: dir, line: null, message: `is writable by group or others (mode ${(st.mode & 0o777).toString(8)})` };
  return null;
}

/**
 * Loads every profile of `dir` and collects every problem (for `profile check`). A missing
 * directory is no profiles and no problem; a directory that exists with no valid profile is
 * a problem. Profiles are returned by name (a Map), sorted by name. Never throws for bad
 * content; throws only for I/O errors it cannot describe.
 */
export function loadProfiles(dir: string): { profiles: Map<string, Profile>; problems: ProfileProblem[] } {
  const profiles = new Map<string, Profile>();
  const problems: ProfileProblem[] = [];
  if (!fs.existsSync(dir) && !isLink(dir)) return { profiles, problems };
  const dirProblem = checkDir(dir);
  if (dirProblem) return { profiles, problems: [dirProblem] };
  const names = fs
    .readdirSync(dir)
    .filter((f) => !f.startsWith('.') && f.endsWith('.toml'))
    .sort();
  for (const f of names) {
    const file = path.join(dir, f);
    let text: string;
    try {
      const r = readPrivateFileStat(file, 'profile', { forbid: 0o022, maxBytes: MAX_PROFILE_BYTES });
      if (r === null) continue; // removed meanwhile
      text = r.data.toString('utf8');
    } catch (e) {
      if (!(e instanceof SesameError)) throw e;
      problems.push({ file, line: null, message: e.message.replace(`profile ${file} `, '') });
      continue;
    }
    const r = parseProfile(f.slice(0, -'.toml'.length), file, text);
    if ('problems' in r) problems.push(...r.problems);
    else profiles.set(r.profile.name, r.profile);
  }
  if (profiles.size === 0 && problems.length === 0) problems.push({ file: dir, line: null, message: 'holds no profile (<name>.toml); remove the directory if you want none' });
  return { profiles, problems };
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** "FILE:LINE: message" (or "FILE: message"). */
export function describeProblem(p: ProfileProblem): string {
  return `${p.file}${p.line === null ? '' : `:${p.line}`}: ${p.message}`;
}

/** The first problem as the SesameError start and reload report (INVALID, `detail: {file, line}`). */
export function problemError(p: ProfileProblem, count: number): SesameError {
  return new SesameError('INVALID', `bad profile: ${describeProblem(p)}${count > 1 ? ` (and ${count - 1} more problem${count > 2 ? 's' : ''})` : ''}`, {
    hint: 'fix that line, then check every profile again',
    detail: { file: p.file, ...(p.line === null ? {} : { line: p.line }) },
  });
}

/**
 * The PolicyStore loader for a home's profiles (policy/store.ts `PolicyLoader`, declared here
 * structurally): `load()` reads the directory each time and throws the first problem (file
 * and line in `detail`) if there is any, so a bad profile refuses start and a bad reload
 * keeps the old policy. The Map holds full `Profile`s (ProfilePolicy plus exec fields).
 */
export function profilesLoader(paths: { readonly home: string }): { readonly name: 'profiles'; readonly file: string; load(): { readonly profiles: ReadonlyMap<string, Profile> } } {
  const dir = profilesDir(paths.home);
  return Object.freeze({
    name: 'profiles' as const,
    file: dir,
    load: () => {
      const { profiles, problems } = loadProfiles(dir);
      if (problems[0]) throw problemError(problems[0], problems.length);
      return { profiles };
    },
  });
}
