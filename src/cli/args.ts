/**
 * sesame's one argv grammar: long options (`--x`, `--x=v`, `--x v`), short aliases (`-p v`,
 * `-pv`), `--` ends options (nothing after it is ever read as an option or a command
 * word). Global options (globals.ts) may stand anywhere before `--`: before the command
 * word, between it and its subcommand, or among the command's own arguments. Unknown
 * options are usage errors (exit 2). The full CLI and the agent fast paths use these same
 * functions; this module loads only errors.ts and globals.ts (the executable's start-up
 * path imports it).
 */
import { SesameError } from '../core/errors.js';
import { GLOBAL_FLAGS, type FlagSpec } from './globals.js';
import { didYouMean } from './suggest.js';

export { GLOBAL_FLAGS };
export type { FlagDef, FlagSpec } from './globals.js';

export interface Parsed {
  flags: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** Arguments after `--` (or after the first positional when stopAtPositional). */
  rest: string[] | undefined;
}

/**
 * Reads the option at argv[i] (which starts with `-` and is not `--` or `-`): its name,
 * its value (true for a boolean) and the index of the next unread argument. Throws USAGE
 * for an option `spec` does not declare, a value given to a boolean, or a missing value.
 */
function readOption(argv: readonly string[], i: number, spec: FlagSpec): { name: string; value: string | true; next: number } {
  const a = argv[i]!;
  if (a.startsWith('--')) {
    const eq = a.indexOf('=');
    const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
    const d = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!d) throw usage(`unknown option --${name}${didYouMean(name, Object.keys(spec), '--')}`);
    if (d.type === 'boolean') {
      if (eq !== -1) throw usage(`option --${name} takes no value`);
      return { name, value: true, next: i + 1 };
    }
    const v = eq !== -1 ? a.slice(eq + 1) : argv[i + 1];
    if (v === undefined) throw usage(`option --${name} needs a value${d.arg ? ` (${d.arg})` : ''}`);
    return { name, value: v, next: eq !== -1 ? i + 1 : i + 2 };
  }
  const name = Object.keys(spec).find((n) => spec[n]!.short === a[1]);
  if (!name) throw usage(`unknown option ${a.slice(0, 2)}`);
  const d = spec[name]!;
  if (d.type === 'boolean') {
    if (a.length > 2) throw usage(`option ${a.slice(0, 2)} takes no value`);
    return { name, value: true, next: i + 1 };
  }
  const v = a.length > 2 ? a.slice(2) : argv[i + 1];
  if (v === undefined) throw usage(`option -${d.short} needs a value${d.arg ? ` (${d.arg})` : ''}`);
  return { name, value: v, next: a.length > 2 ? i + 1 : i + 2 };
}

const isOption = (a: string): boolean => a.startsWith('-') && a.length > 1 && a !== '--';

/**
 * Finds the command word: the first argument that is neither a global option nor its
 * value. Returns it and argv without it (global options stay, wherever they were, for the
 * command's own parse). Before the command word only global options are allowed (USAGE
 * otherwise: their arity is unknown until the command is). `name` is undefined when there
 * is no command word before `--` or the end. Call it again on `rest` for a subcommand.
 */
export function splitCommand(argv: readonly string[], globals: FlagSpec = GLOBAL_FLAGS): { name: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length;) {
    const a = argv[i]!;
    if (a === '--') break;
    if (isOption(a)) {
      i = readOption(argv, i, globals).next;
      continue;
    }
    return { name: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { name: undefined, rest: [...argv] };
}

/** argv up to (not including) the first `--`: the only part that may hold options. */
export function beforeDashDash(argv: readonly string[]): readonly string[] {
  const i = argv.indexOf('--');
  return i === -1 ? argv : argv.slice(0, i);
}

/** Parses a command's arguments against `spec` (the global options plus the command's own). */
export function parseArgs(argv: readonly string[], spec: FlagSpec, opts: { stopAtPositional?: boolean; maxPositionals?: number } = {}): Parsed {
  const flags: Parsed['flags'] = {};
  const positionals: string[] = [];
  let rest: string[] | undefined;
  for (let i = 0; i < argv.length;) {
    const a = argv[i]!;
    if (a === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    if (isOption(a)) {
      const o = readOption(argv, i, spec);
      const prev = flags[o.name];
      flags[o.name] = spec[o.name]?.repeatable && typeof prev === 'string' && typeof o.value === 'string' ? `${prev},${o.value}` : o.value;
      i = o.next;
      continue;
    }
    if (opts.stopAtPositional) {
      rest = argv.slice(i);
      break;
    }
    positionals.push(a);
    i++;
  }
  if (opts.maxPositionals !== undefined && positionals.length > opts.maxPositionals) {
    throw usage(`unexpected argument ${JSON.stringify(positionals[opts.maxPositionals])}`);
  }
  return { flags, positionals, rest };
}

/** A parsed option, or its declared environment fallback (a boolean: the variable is "1"). */
export function optionOrEnv(flags: Parsed['flags'], name: string, env: NodeJS.ProcessEnv, spec: FlagSpec = GLOBAL_FLAGS): string | boolean | undefined {
  if (flags[name] !== undefined) return flags[name];
  const d = spec[name];
  const v = d?.env === undefined ? undefined : env[d.env];
  if (d?.type === 'boolean') return v === '1';
  return v;
}

/** The hint of a usage error that names no better one; main.ts points it at the command's own help. */
export const DEFAULT_USAGE_HINT = 'see `sesame --help`';

/** A USAGE error (exit 2): one line naming the problem, and a hint (by default the help). */
export function usage(message: string, hint?: string): SesameError {
  return new SesameError('USAGE', message, { hint: hint ?? DEFAULT_USAGE_HINT });
}

/** The longest duration any option accepts: a year (an agent TTL beyond that is a typo). */
export const MAX_DURATION_MS = 365 * 86_400_000;

const UNIT_MS = { ms: 1n, s: 1000n, m: 60_000n, h: 3_600_000n, d: 86_400_000n } as const;

/**
 * Parses a duration like 90s, 15m, 8h, 1d, 500ms, 1.5h, or a bare number of seconds, into
 * whole milliseconds. Exact: computed in integers, so what is accepted is exactly what the
 * user typed. Throws USAGE, quoting the user's own text (durations are never secret), for
 * anything else: a sign, an exponent, a fraction that is not a whole number of
 * milliseconds (`1.5ms`), or more than MAX_DURATION_MS (the message names the limit; it
 * never prints a number the user did not type).
 */
export function parseDuration(s: string, flag: string): number {
  const shown = JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
  const examples = 'use e.g. 30s, 15m, 8h, 1d, or 0 to disable';
  if (/^\s*-/.test(s)) throw usage(`invalid duration for --${flag}: ${shown} is negative`, examples);
  const m = /^(\d{1,40})(?:\.(\d{1,40}))?(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) throw usage(`invalid duration for --${flag}: ${shown}`, examples);
  const frac = m[2] ?? '';
  const scale = 10n ** BigInt(frac.length);
  const scaled = (BigInt(m[1]!) * scale + BigInt(frac || '0')) * UNIT_MS[(m[3] ?? 's') as keyof typeof UNIT_MS];
  if (scaled % scale !== 0n) throw usage(`invalid duration for --${flag}: ${shown} is not a whole number of milliseconds`, examples);
  const ms = scaled / scale;
  if (ms > BigInt(MAX_DURATION_MS)) throw usage(`duration for --${flag} too long: ${shown} is more than the limit of 365d`, 'use at most 365d (a year)');
  return Number(ms);
}
