/**
 * Where read commands (get, env, run) get secrets: a reachable agent first (no prompt, no
 * Argon2id, no libsodium or koffi loaded), else a direct unlock. `--no-agent` or
 * SESAME_NO_AGENT=1 skips the agent.
 */
import type { Ctx } from './context.js';
import { agentReader } from './agent-reader.js';
import type { SecretReader } from './secret-reader.js';

export type { SecretReader };

export async function openReader(ctx: Ctx): Promise<SecretReader> {
  if (!ctx.noAgent) {
    const { connectAgent } = await import('../core/agent/client.js');
    const client = await connectAgent(ctx.paths.agentSock, ctx.env);
    if (client) return agentReader(client);
  }
  const { unlockDirect } = await import('./unlock.js');
  const v = await unlockDirect(ctx);
  return {
    via: 'direct',
    get: async (project, key) => v.get(project, key),
    getSelected: async (project, sel) => v.getSelected(project, sel),
    close: () => v.dispose(),
  };
}
