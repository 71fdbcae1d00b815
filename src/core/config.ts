/**
 * `$SESAME_HOME/config.toml`: sesame's settings file (docs/spec/passphrase-chain.md).
 *
 *   passphrase_command = ["pass", "show", "sesame"]   # or one string, split without a shell
 *   passphrase_command_timeout = 30                    # seconds (0.1 to 600), default 30
 *   history = 10                                       # earlier versions kept per key (0 to 1000; 0: none, rm is final)
 *   approve_owner = false        # the owner's own agent reads of high-value keys wait for approval too
 *   approval_timeout = "60s"     # how long a read waits for the owner (a profile's own overrides it)
 *   approval_max = "8h"          # the longest `approve --for` any approver can give
 *
 * Strict: an unknown field, a wrong type or a bad value is an error naming the field, so a
 * typo never silently disables a setting. Because the file decides which program sesame
 * runs, it must be a regular file owned by the user and not writable by group or others
 * (fail closed: INSECURE otherwise). It is not secret and may be readable.
 */
import { parse } from 'smol-toml';
import { SesameError } from './errors.js';
import type { HomePaths } from './paths.js';
import { readPrivateFileStat } from './fs/secure.js';
import { parseDurationText } from './duration.js';

export interface Config {
  /** argv of the passphrase command; undefined when not configured. */
  passphraseCommand: string[] | undefined;
  passphraseCommandTimeoutMs: number;
  /** How many earlier versions a write keeps per key (`history`, default 10; 0 disables history and makes rm final). */
  history: number;
  /** `approve_owner`: the owner's reads on the owner socket wait for approval too (default false). */
  approveOwner: boolean;
  /** `approval_timeout` (ms); undefined: the built-in 60 s. */
  approvalTimeoutMs: number | undefined;
  /** `approval_max` (ms); undefined: the built-in 8 h. */
  approvalMaxMs: number | undefined;
}

/** How long passphrase_command may run when config.toml sets no passphrase_command_timeout (ms). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
/** Earlier versions kept per key when config.toml has no `history` (vault.ts DEFAULT_HISTORY, restated here to keep config free of the vault). */
export const DEFAULT_HISTORY_VERSIONS = 10;
const KNOWN = ['passphrase_command', 'passphrase_command_timeout', 'history', 'approve_owner', 'approval_timeout', 'approval_max'] as const;
const MAX_CONFIG = 64 * 1024;

const invalid = (p: string, msg: string): SesameError => new SesameError('INVALID', `${p}: ${msg}`, { hint: `fix ${p} (see docs/spec/passphrase-chain.md for its fields)` });

/** Reads and validates the config; defaults when the file does not exist. */
export function loadConfig(paths: HomePaths): Config {
  const text = readConfigText(paths.config);
  if (text === null) {
    return {
      passphraseCommand: undefined,
      passphraseCommandTimeoutMs: DEFAULT_COMMAND_TIMEOUT_MS,
      history: DEFAULT_HISTORY_VERSIONS,
      approveOwner: false,
      approvalTimeoutMs: undefined,
      approvalMaxMs: undefined,
    };
  }
  return parseConfig(text, paths.config);
}

/** Parses config text; `where` names the file in messages. */
export function parseConfig(text: string, where: string): Config {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (e) {
    throw invalid(where, `not valid TOML: ${(e as Error).message.split('\n')[0] ?? ''}`);
  }
  for (const k of Object.keys(doc)) {
    if (!(KNOWN as readonly string[]).includes(k)) throw invalid(where, `unknown field ${JSON.stringify(k)} (known: ${KNOWN.join(', ')})`);
  }
  return {
    passphraseCommand: commandField(doc.passphrase_command, where),
    passphraseCommandTimeoutMs: timeoutField(doc.passphrase_command_timeout, where),
    history: historyField(doc.history, where),
    approveOwner: boolField(doc.approve_owner, 'approve_owner', where),
    approvalTimeoutMs: durationField(doc.approval_timeout, 'approval_timeout', where),
    approvalMaxMs: durationField(doc.approval_max, 'approval_max', where),
  };
}

function historyField(v: unknown, where: string): number {
  if (v === undefined) return DEFAULT_HISTORY_VERSIONS;
  if (typeof v === 'bigint') v = Number(v);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > 1000) throw invalid(where, 'history must be a whole number of versions from 0 to 1000');
  return v;
}

function commandField(v: unknown, where: string): string[] | undefined {
  if (v === undefined) return undefined;
  const argv = typeof v === 'string' ? splitCommand(v, where) : v;
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) {
    throw invalid(where, 'passphrase_command must be a string or an array of strings');
  }
  if (argv.length === 0 || argv[0] === '') throw invalid(where, 'passphrase_command is empty');
  if (argv.some((a: string) => a.includes('\0'))) throw invalid(where, 'passphrase_command contains a NUL byte');
  return argv;
}

function boolField(v: unknown, name: string, where: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalid(where, `${name} must be true or false`);
  return v;
}

function durationField(v: unknown, name: string, where: string): number | undefined {
  if (v === undefined) return undefined;
  const r = typeof v === 'string' ? parseDurationText(v) : { error: 'a string like "8h" is needed' };
  if ('error' in r) throw invalid(where, `${name}: ${r.error}`);
  if (r.ms <= 0) throw invalid(where, `${name} must be more than 0`);
  return r.ms;
}

function timeoutField(v: unknown, where: string): number {
  if (v === undefined) return DEFAULT_COMMAND_TIMEOUT_MS;
  if (typeof v === 'bigint') v = Number(v);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0.1 || v > 600) {
    throw invalid(where, 'passphrase_command_timeout must be a number of seconds from 0.1 to 600');
  }
  return Math.round(v * 1000);
}

const SHELL_CHARS = new Set(['|', '&', ';', '<', '>', '(', ')', '$', '`', '*', '?', '~', '#', '\n']);

/**
 * Splits a command line into argv WITHOUT a shell: whitespace separates words; single
 * quotes keep text literally; double quotes and backslash escape as in sh, but nothing is
 * expanded. Unquoted shell syntax (pipes, redirects, $VAR, globs, a leading ~ or #) is refused rather than
 * passed on literally: use ["sh", "-c", "…"] when a shell is really wanted.
 */
export function splitCommand(s: string, where = 'passphrase_command'): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  const fail = (m: string): SesameError => invalid(where, `passphrase_command ${m}`);
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end === -1) throw fail('has an unterminated single quote');
      cur += s.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (; i < s.length && s[i] !== '"'; i++) {
        if (s[i] === '\\' && i + 1 < s.length && '"\\$`'.includes(s[i + 1]!)) i++;
        else if (s[i] === '$' || s[i] === '`') throw fail('uses $ or ` inside double quotes: it is run without a shell, so nothing is expanded; quote with single quotes');
        cur += s.charAt(i);
      }
      if (i >= s.length) throw fail('has an unterminated double quote');
      inWord = true;
      i++;
    } else if (c === '\\') {
      if (i + 1 >= s.length) throw fail('ends with a backslash');
      cur += s.charAt(i + 1);
      inWord = true;
      i += 2;
    } else if (SHELL_CHARS.has(c) && !(inWord && (c === '#' || c === '~'))) {
      throw fail(`uses shell syntax ${JSON.stringify(c)}; it is run without a shell: write ["sh", "-c", "…"] if you need one`);
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

function readConfigText(p: string): string | null {
  // Not secret, but it decides which program sesame runs: ours, and writable by no one else.
  return readPrivateFileStat(p, 'config file', { forbid: 0o022, maxBytes: MAX_CONFIG })?.data.toString('utf8') ?? null;
}
