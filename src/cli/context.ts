/**
 * What every command gets: the resolved home and project, the output flags, and the ways
 * to unlock. Built once per invocation from argv flags and the environment.
 */
import { homePaths, resolveHome, resolveProject } from '../core/paths.js';
import { optionOrEnv, type Parsed } from './args.js';
import type { Ctx } from './command.js';
import { warn } from './output.js';

export type { Ctx } from './command.js';

export function makeCtx(parsed: Parsed, env: NodeJS.ProcessEnv): Ctx {
  const home = resolveHome(parsed.flags.home as string | undefined, env);
  const paths = homePaths(home, env);
  const projectFlag = parsed.flags.project as string | undefined;
  let project: ReturnType<Ctx['project']> | undefined;
  return {
    env,
    paths,
    json: parsed.flags.json === true,
    noAgent: optionOrEnv(parsed.flags, 'no-agent', env) === true,
    projectFlag,
    project() {
      project ??= resolveProject(projectFlag, env, paths);
      return project;
    },
    async chain() {
      const { hasTty, promptHidden } = await import('./prompt.js');
      const { DEFAULT_ORDER } = await import('../core/passphrase/order.js');
      return { paths, env, warn, prompt: env.SESAME_NO_PROMPT !== '1' && hasTty() ? promptHidden : undefined, order: DEFAULT_ORDER };
    },
  };
}
