/**
 * Process glue: the only place that reads process.argv and sets the exit code.
 * A plain `get KEY` first tries the agent fast path (get-fast-path.ts); everything else, and `get`
 * when no agent answers, goes through main.
 */
import { fastGet, fastGetArgs } from './get-fast-path.js';
import { settle } from './output.js';

async function start(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const f = fastGetArgs(argv, env);
  if (f) {
    const code = await fastGet(f, env);
    if (code !== null) return code;
  }
  const { main } = await import('./main.js');
  return main(argv, env);
}

/** The full CLI without the fast path (the CommonJS entry already tried it). */
export async function runMain(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { main } = await import('./main.js');
  return main(argv, env);
}

export function run(): void {
  settle(start(process.argv.slice(2), process.env));
}
