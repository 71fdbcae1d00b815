/**
 * A small, strict argv parser: long flags (`--x`, `--x=v`, `--x v`), short aliases,
 * `--` ends options. Unknown flags are usage errors (exit 2).
 */
import { SesameError } from '../core/errors.js';

export interface FlagDef {
  type: 'boolean' | 'string';
  short?: string;
  /** Placeholder for help, e.g. "DUR". */
  arg?: string;
  help?: string;
}
export type FlagSpec = Record<string, FlagDef>;

export interface Parsed {
  flags: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** Arguments after `--` (or after the first positional when stopAtPositional). */
  rest: string[] | undefined;
}

export const GLOBAL_FLAGS: FlagSpec = {
  home: { type: 'string', arg: 'DIR', help: 'use DIR as the sesame home (default $SESAME_HOME or ~/.sesame)' },
  project: { type: 'string', short: 'p', arg: 'NAME', help: 'the project to use (default $SESAME_PROJECT, then `projects use`, then "default")' },
  'no-agent': { type: 'boolean', help: 'do not use a running agent (also SESAME_NO_AGENT=1)' },
  json: { type: 'boolean', help: 'machine-readable output where output is data' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
};

export function parseArgs(argv: string[], spec: FlagSpec, opts: { stopAtPositional?: boolean; maxPositionals?: number } = {}): Parsed {
  const flags: Parsed['flags'] = {};
  const positionals: string[] = [];
  let rest: string[] | undefined;
  const byShort = new Map<string, string>();
  for (const [name, d] of Object.entries(spec)) if (d.short) byShort.set(d.short, name);

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
      const d = spec[name];
      if (!d) throw usage(`unknown option --${name}`);
      if (d.type === 'boolean') {
        if (eq !== -1) throw usage(`option --${name} takes no value`);
        flags[name] = true;
      } else {
        let v: string | undefined;
        if (eq !== -1) v = a.slice(eq + 1);
        else v = argv[++i];
        if (v === undefined) throw usage(`option --${name} needs a value${d.arg ? ` (${d.arg})` : ''}`);
        flags[name] = v;
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      const name = byShort.get(a[1]!);
      if (!name) throw usage(`unknown option ${a}`);
      const d = spec[name]!;
      if (d.type === 'boolean') {
        if (a.length > 2) throw usage(`option ${a.slice(0, 2)} takes no value`);
        flags[name] = true;
      } else {
        const v = a.length > 2 ? a.slice(2) : argv[++i];
        if (v === undefined) throw usage(`option -${d.short} needs a value${d.arg ? ` (${d.arg})` : ''}`);
        flags[name] = v;
      }
      continue;
    }
    if (opts.stopAtPositional) {
      rest = argv.slice(i);
      break;
    }
    positionals.push(a);
  }
  if (opts.maxPositionals !== undefined && positionals.length > opts.maxPositionals) {
    throw usage(`unexpected argument ${JSON.stringify(positionals[opts.maxPositionals])}`);
  }
  return { flags, positionals, rest };
}

export function usage(message: string, hint?: string): SesameError {
  return new SesameError('USAGE', message, { hint: hint ?? 'see `sesame --help`' });
}

/** Parses a duration like 90s, 15m, 8h, 1d, 500ms, or a bare number of seconds. */
export function parseDuration(s: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) throw usage(`invalid duration for --${flag}: ${JSON.stringify(s)}`, 'use e.g. 30s, 15m, 8h, 1d, or 0 to disable');
  const n = Number(m[1]);
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(n * mult);
}
