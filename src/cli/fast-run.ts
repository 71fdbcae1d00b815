/**
 * The fast path for `sesame run … -- CMD` answered by a running agent: the same
 * execWithSecrets as commands/run.ts, reached without loading the command table. Only the
 * plain form qualifies (`--home`, `-p/--project`, `--only`, `--prefix`, `--strict`, then
 * `--` and the command); anything else, or no agent, returns null and the normal path runs.
 */
import { connectAgent } from '../core/agent/client.js';
import { checkKeyName, homePaths, resolveHome, resolveProject } from '../core/home.js';
import type { Parsed } from './args.js';
import { reportError } from './output.js';
import { execWithSecrets } from './run-exec.js';
import { agentReader } from './agent-reader.js';

export interface FastRun {
  home: string | undefined;
  project: string | undefined;
  flags: Parsed['flags'];
  argv: string[];
}

const VALUED = new Set(['--home', '--project', '-p', '--only', '--prefix']);

/** The arguments of a plain `run … -- CMD`, or null when the normal path must parse them. */
export function fastRunArgs(argv: string[], env: NodeJS.ProcessEnv): FastRun | null {
  if (env.SESAME_NO_AGENT === '1' || argv[0] !== 'run') return null;
  const flags: Parsed['flags'] = {};
  const r: FastRun = { home: undefined, project: undefined, flags, argv: [] };
  for (let i = 1; i < argv.length; i++) {
    const t = argv[i]!;
    if (t === '--') {
      r.argv = argv.slice(i + 1);
      return r.argv.length ? r : null;
    }
    if (t === '--strict') flags.strict = true;
    else if (VALUED.has(t)) {
      const v = argv[++i];
      if (v === undefined) return null;
      if (t === '--home') r.home = v;
      else if (t === '--project' || t === '-p') r.project = v;
      else flags[t.slice(2)] = v;
    } else return null;
  }
  return null;
}

/** Never returns when the command runs; an exit code on failure; null when no agent answers. */
export async function fastRun(a: FastRun, env: NodeJS.ProcessEnv): Promise<number | null> {
  try {
    if (typeof a.flags.only === 'string') for (const k of a.flags.only.split(',')) checkKeyName(k.trim());
    const paths = homePaths(resolveHome(a.home, env), env);
    const project = resolveProject(a.project, env, paths).name;
    const client = await connectAgent(paths.agentSock, env);
    if (!client) return null;
    return await execWithSecrets(async () => agentReader(client), project, a.flags, a.argv, env);
  } catch (e) {
    return reportError(e, false);
  }
}
