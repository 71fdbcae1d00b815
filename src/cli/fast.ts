/**
 * The fast path for the hottest command: `sesame get KEY` answered by a running agent.
 *
 * Startup is most of what `get` costs, and every module loaded in sequence adds to it, so
 * this path is in the entry's static graph and loads nothing else: it resolves the home
 * and project, asks the agent, prints the value. It is a shortcut, not a second
 * implementation of `get`:
 * - only the plain form qualifies: `get KEY` with `--home`/`--project`/`-p` and nothing
 *   else (no --json, --no-agent, --help, extra words), and not with SESAME_NO_AGENT=1;
 * - when no agent answers it returns null and the normal path runs (direct unlock);
 * - otherwise its output, errors and exit codes are exactly those of commands/get.ts
 *   through reader.ts (the same client, the same `out` and `reportError`).
 */
import { connectAgent } from '../core/agent/client.js';
import { homePaths, isValidKeyName, resolveHome, resolveProject } from '../core/home.js';
import { outValueLine, reportError } from './output.js';

export interface FastGet {
  home: string | undefined;
  project: string | undefined;
  key: string;
}

/** The arguments of a plain `get KEY`, or null when the normal path must parse them. */
export function fastGetArgs(argv: string[], env: NodeJS.ProcessEnv): FastGet | null {
  if (env.SESAME_NO_AGENT === '1') return null;
  const a: { home?: string; project?: string } = {};
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i]!;
    const eq = t.indexOf('=');
    if (t === '--home' || t === '--project' || t === '-p') {
      const v = argv[++i];
      if (v === undefined) return null;
      a[t === '--home' ? 'home' : 'project'] = v;
    } else if (t.startsWith('--home=') || t.startsWith('--project=')) {
      a[t.startsWith('--home=') ? 'home' : 'project'] = t.slice(eq + 1);
    } else if (t.startsWith('-')) return null;
    else words.push(t);
  }
  if (words.length !== 2 || words[0] !== 'get' || !isValidKeyName(words[1]!)) return null;
  return { home: a.home, project: a.project, key: words[1]! };
}

/** Exit code, or null when no agent answers (then run the normal path). */
export async function fastGet(a: FastGet, env: NodeJS.ProcessEnv): Promise<number | null> {
  try {
    const paths = homePaths(resolveHome(a.home, env), env);
    const project = resolveProject(a.project, env, paths).name;
    const client = await connectAgent(paths.agentSock, env);
    if (!client) return null;
    try {
      const v = await client.get(project, a.key);
      outValueLine(v);
    } finally {
      client.close();
    }
    return 0;
  } catch (e) {
    return reportError(e, false);
  }
}
