/**
 * Stopping this home's agent, shared by `lock` and `agent stop` so both find it the way every
 * reader does: the socket `ctx.paths.agentSock` (home/agent.sock, or SESAME_AGENT_SOCK).
 *
 * "No agent" is said only when there is no sign of one: when nothing answers on the socket
 * but the pid in agent.pid or the holder recorded in agent.lock is alive, the agent is
 * probably listening somewhere else (started with another SESAME_AGENT_SOCK) or hung, and
 * that is an error (UNAVAILABLE, exit 1) naming the pid — never a quiet "not running".
 */
import { SesameError, isErrorCode } from '../core/errors.js';
import type { Ctx } from './context.js';

/** true when an agent was asked to stop and did; false when there is no sign of one. Throws otherwise. */
export async function stopHomeAgent(ctx: Ctx): Promise<boolean> {
  const { connectAgent } = await import('../core/agent/client.js');
  const client = await connectAgent(ctx.paths.agentSock, ctx.env);
  if (client) {
    try {
      await client.stop();
    } finally {
      client.close();
    }
    return true;
  }
  const pid = await signOfAgent(ctx);
  if (pid === null) return false;
  const viaEnv = ctx.env.SESAME_AGENT_SOCK
    ? 'SESAME_AGENT_SOCK is set here; was the agent started with the same value?'
    : 'if it was started with SESAME_AGENT_SOCK, run this again with the same SESAME_AGENT_SOCK;';
  throw new SesameError('UNAVAILABLE', `an agent for this home seems to be running (pid ${pid}), but it does not answer on ${ctx.paths.agentSock}`, {
    hint: `${viaEnv} otherwise stop it with: kill ${pid}  (it wipes its keys on SIGTERM)`,
    detail: { pid, socket: ctx.paths.agentSock },
  });
}

/** The pid of a live process that agent.pid or agent.lock names, or null. */
async function signOfAgent(ctx: Ctx): Promise<number | null> {
  const { probeAgent } = await import('../core/agent/probe.js');
  const r = await probeAgent(ctx.paths, ctx.env);
  if (r.error && r.error.code !== 'UNAVAILABLE') throw new SesameError(isErrorCode(r.error.code) ? r.error.code : 'ERROR', r.error.message, r.error.hint ? { hint: r.error.hint } : {});
  if (r.running && r.pid !== null) return r.pid;
  const { lockHolder } = await import('../core/fs/lock.js');
  const { processAlive } = await import('../core/fs/secure.js');
  const holder = lockHolder(ctx.paths.agentLock);
  return holder !== null && processAlive(holder) ? holder : null;
}
