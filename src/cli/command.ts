/** The shape of a CLI command: usage, options and one call into the core. */
import type { FlagSpec, Parsed } from './args.js';
import type { Ctx } from './context.js';

export interface Command {
  usage: string;
  summary: string;
  flags: FlagSpec;
  /** Everything from the first positional on is passed through as `rest` (run). */
  stopAtPositional?: boolean;
  maxPositionals?: number;
  /** Returns the exit code (default 0). */
  run(ctx: Ctx, args: Parsed): Promise<number | void>;
}

export interface Group {
  summary: string;
  subcommands: Record<string, Command>;
}

export type CommandModule = { default: Command | Group };

export function isGroup(c: Command | Group): c is Group {
  return 'subcommands' in c;
}
