/**
 * The fast path for `sesame run … -- CMD` answered by a running agent: the same
 * execWithSecrets as commands/run.ts, reached without loading the command table. argv is
 * parsed by the one grammar (get-fast-path.ts's fastParse: the global options plus run's own
 * SELECT_FLAGS, stopping at `--` or the command), so nothing after `--` is ever read as an
 * option. Only `--home`, `-p/--project` and run's own options qualify; anything else, or
 * no agent, returns null and the normal path runs.
 */
import { connectAgent } from '../core/agent/client.js';
import { homePaths, resolveHome, resolveProject } from '../core/paths.js';
import { checkKeyName } from '../core/names.js';
import { GLOBAL_FLAGS, type FlagSpec, type Parsed } from './args.js';
import { fastParse } from './get-fast-path.js';
import { reportError } from './output.js';
import { execWithSecrets } from './run-exec.js';
import { SELECT_FLAGS, withDirSelection } from './select.js';
import { agentReader } from './agent-reader.js';

export interface FastRun {
  home: string | undefined;
  project: string | undefined;
  flags: Parsed['flags'];
  argv: string[];
}

/** The arguments of a plain `run … -- CMD`, or null when the normal path must parse them. */
export function fastRunArgs(argv: readonly string[], env: NodeJS.ProcessEnv, globals: FlagSpec = GLOBAL_FLAGS): FastRun | null {
  const p = fastParse(argv, env, 'run', SELECT_FLAGS, { stopAtPositional: true }, globals);
  if (!p?.rest?.length) return null;
  const { home, project, ...flags } = p.flags;
  return { home: home as string | undefined, project: project as string | undefined, flags, argv: p.rest };
}

/** Never returns when the command runs; an exit code on failure; null when no agent answers. */
export async function fastRun(a: FastRun, env: NodeJS.ProcessEnv): Promise<number | null> {
  try {
    if (typeof a.flags.only === 'string') for (const k of a.flags.only.split(',')) checkKeyName(k.trim());
    const paths = homePaths(resolveHome(a.home, env), env);
    const resolved = resolveProject(a.project, env, paths);
    const client = await connectAgent(paths.agentSock, env);
    if (!client) return null;
    return await execWithSecrets(async () => agentReader(client), resolved.name, withDirSelection(a.flags, resolved), a.argv, env, paths);
  } catch (e) {
    return reportError(e, false);
  }
}
