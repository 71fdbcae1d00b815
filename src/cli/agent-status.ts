/** The agent block of `status --json` (the agent issue fills it in). */
import type { Ctx } from './context.js';

export async function agentStatusBlock(ctx: Ctx): Promise<Record<string, unknown> & { running: boolean }> {
  return { schema: 1, running: false, accessible: false, socket: ctx.paths.agentSock };
}
