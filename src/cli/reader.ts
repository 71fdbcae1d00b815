/**
 * Where read commands (get, env, run) get secrets: a reachable agent first (no prompt, no
 * Argon2id, no libsodium or koffi loaded), else a direct unlock. `--no-agent` or
 * SESAME_NO_AGENT=1 skips the agent. Either way values come through the plaintext door
 * (src/core/access.ts): the agent's ops use it, and so does the direct branch here.
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
  const { unlockDirect } = await import('./direct-unlock.js');
  const { directContext, readOne, readSelected, vaultSource } = await import('../core/access.js');
  const v = await unlockDirect(ctx);
  // Direct reads go through the plaintext door like the agent's: the owner, via the CLI.
  const access = directContext();
  const src = vaultSource(v);
  return {
    via: 'direct',
    get: (project, key) => readOne(access, src, project, key),
    getSelected: (project, sel) => readSelected(access, src, project, sel),
    close: () => {
      v.dispose();
    },
  };
}
