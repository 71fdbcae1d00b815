/**
 * The global options, declared once. Every argv reader — the full CLI (main.ts) and the
 * agent fast paths bundled into the executable (get-fast-path.ts, run-fast-path.ts) — parses argv with
 * args.ts's one grammar over this table, so a global option added here is understood, with
 * its short form and its value, before or after the command word, on every path.
 *
 * This module imports nothing: the executable's start-up path loads it.
 */

export interface FlagDef {
  type: 'boolean' | 'string';
  short?: string;
  /** Placeholder for help, e.g. "DUR". */
  arg?: string;
  help?: string;
  /**
   * The environment variable that stands in for the option when it is absent. A boolean
   * option is on when the variable is exactly "1" (see args.ts `optionOrEnv`). For `home`
   * and `project` the core's resolvers apply the fallback themselves (they also report
   * where a project came from); the name here is what help shows.
   */
  env?: string;
  /** A string option that may be given more than once: the values are joined with `,` (for lists whose items cannot hold a comma). */
  repeatable?: boolean;
}
export type FlagSpec = Record<string, FlagDef>;

export const GLOBAL_FLAGS: FlagSpec = {
  home: { type: 'string', arg: 'DIR', env: 'SESAME_HOME', help: 'use DIR as the sesame home (default $SESAME_HOME or ~/.sesame)' },
  project: { type: 'string', short: 'p', arg: 'NAME', env: 'SESAME_PROJECT', help: 'the project to use (default $SESAME_PROJECT, then `projects use`, then "default")' },
  'no-agent': { type: 'boolean', env: 'SESAME_NO_AGENT', help: 'do not use a running agent (also SESAME_NO_AGENT=1)' },
  json: { type: 'boolean', help: 'machine-readable output where output is data' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
  version: { type: 'boolean', help: 'print the version' },
};
