/**
 * The fast path for the hottest command: `sesame get KEY` answered by a running agent.
 *
 * Startup is most of what `get` costs, and every module loaded in sequence adds to it, so
 * this path is in the entry's static graph and loads nothing else: it resolves the home
 * and project, asks the agent, prints the value. It is a shortcut, not a second
 * implementation of `get`:
 * - argv is parsed by the one grammar (args.ts over globals.ts), so `-p P get K`,
 *   `get K -p P`, `get -p P K` and `--project=P` mean here what they mean to main.ts;
 * - only the plain form qualifies: `get KEY` with no option but `--home` and `-p/--project`
 *   (FAST_OPTIONS; --json, --no-agent, --help, any global added later, extra words, or a
 *   usage error send it to the normal path), and not with SESAME_NO_AGENT=1;
 * - when no agent answers it returns null and the normal path runs (direct unlock);
 * - otherwise its output, errors and exit codes are exactly those of commands/get.ts
 *   through reader.ts (the same client, the same `out` and `reportError`).
 */
import { connectAgent } from '../core/agent/client.js';
import { pendingNote } from './pending-note.js';
import { homePaths, resolveHome, resolveProject } from '../core/paths.js';
import { isValidKeyName } from '../core/names.js';
import { GLOBAL_FLAGS, optionOrEnv, parseArgs, splitCommand, type FlagSpec, type Parsed } from './args.js';
import { outValueLine, reportError } from './output.js';

export interface FastGet {
  home: string | undefined;
  project: string | undefined;
  key: string;
}

/** The global options a fast path honours itself; with any other it leaves argv to main.ts. */
export const FAST_OPTIONS: ReadonlySet<string> = new Set(['home', 'project']);

/**
 * argv parsed as `command` would parse it (the global options plus `own`), when its words are
 * exactly `command` and no option outside FAST_OPTIONS and `own` is set; else null. Never
 * throws: a usage error is the normal path's to report.
 */
export function fastParse(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  command: string,
  own: FlagSpec,
  opts: { stopAtPositional?: boolean; maxPositionals?: number },
  globals: FlagSpec = GLOBAL_FLAGS,
): Parsed | null {
  try {
    const { name, rest } = splitCommand(argv, globals);
    if (name !== command) return null;
    const p = parseArgs(rest, { ...globals, ...own }, opts);
    if (optionOrEnv(p.flags, 'no-agent', env, globals) === true) return null;
    for (const [k, v] of Object.entries(p.flags)) if (v !== undefined && !FAST_OPTIONS.has(k) && !Object.hasOwn(own, k)) return null;
    return p;
  } catch {
    return null;
  }
}

/** The arguments of a plain `get KEY`, or null when the normal path must parse them. */
export function fastGetArgs(argv: readonly string[], env: NodeJS.ProcessEnv, globals: FlagSpec = GLOBAL_FLAGS): FastGet | null {
  const p = fastParse(argv, env, 'get', {}, { maxPositionals: 1 }, globals);
  const key = p?.positionals[0];
  if (!p || p.rest !== undefined || key === undefined || !isValidKeyName(key)) return null;
  return { home: p.flags.home as string | undefined, project: p.flags.project as string | undefined, key };
}

/** Exit code, or null when no agent answers (then run the normal path). */
export async function fastGet(a: FastGet, env: NodeJS.ProcessEnv): Promise<number | null> {
  try {
    const paths = homePaths(resolveHome(a.home, env), env);
    const project = resolveProject(a.project, env, paths).name;
    const client = await connectAgent(paths.agentSock, env);
    if (!client) return null;
    try {
      const v = await client.get(project, a.key, { onFrame: pendingNote });
      outValueLine(v);
    } finally {
      client.close();
    }
    return 0;
  } catch (e) {
    return reportError(e, false);
  }
}
