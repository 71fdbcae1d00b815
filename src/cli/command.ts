/** The shape of a CLI command: usage, options and one call into the core. */
import type { FlagSpec, Parsed } from './args.js';
import type { HomePaths, ResolvedProject } from '../core/paths.js';
import type { ChainContext } from '../core/passphrase/chain.js';

/** What every command gets: the resolved home and project, the output flags, and the ways to unlock (built by context.ts). */
export interface Ctx {
  env: NodeJS.ProcessEnv;
  paths: HomePaths;
  json: boolean;
  noAgent: boolean;
  projectFlag: string | undefined;
  project(): ResolvedProject;
  /** The chain context: the default tier order, the terminal prompt when there is a terminal. */
  chain(): Promise<ChainContext>;
  /**
   * Every command of the one table, loaded (help and completion read it). Injected by the
   * dispatcher (main.ts), so no command imports main.ts back.
   */
  commandTable?: () => Promise<Array<[string, Command | Group]>>;
}

export interface Command {
  usage: string;
  summary: string;
  flags: FlagSpec;
  /** Everything from the first positional on is passed through as `rest` (run). */
  stopAtPositional?: boolean;
  maxPositionals?: number;
  /** Returns the exit code (default 0). */
  run(ctx: Ctx, args: Parsed): Promise<number> | Promise<void>;
}

export interface Group {
  summary: string;
  subcommands: Record<string, Command>;
}

export type CommandModule = { default: Command | Group };

export function isGroup(c: Command | Group): c is Group {
  return 'subcommands' in c;
}
