/**
 * Telling this home's running agent that its policy files changed (a token made or revoked):
 * SIGHUP, which the agent's entry turns into a PolicyStore reload (swapped only if every
 * file is good; the old policy is kept otherwise, and its log says why).
 *
 * Which pid: only the one the agent itself reports in a `status` reply over the owner socket,
 * after the client checked the socket and the serving uid (core/agent/client.ts) — never a
 * pid read from agent.pid or agent.lock alone, which could name an unrelated process after a
 * crash (SIGHUP's default action would end it). An agent that runs but does not answer is
 * not signalled; the user is told how to do it.
 */
import type { Ctx } from './context.js';

/** What happened: no agent; signalled; or running but not signalled (why). */
export type ReloadOutcome = { kind: 'signalled'; pid: number } | { kind: 'unreachable'; pid: number | null; why: string } | null;

/** Finds the agent as `agent status` does and sends it SIGHUP. Never throws. */
export async function tellAgentToReload(ctx: Ctx): Promise<ReloadOutcome> {
  const { probeAgent } = await import('../core/agent/probe.js');
  const r = await probeAgent(ctx.paths, ctx.env);
  if (!r.running) return null;
  if (!r.accessible || r.pid === null) return { kind: 'unreachable', pid: r.pid, why: r.error?.message ?? 'it did not answer' };
  try {
    process.kill(r.pid, 'SIGHUP');
    return { kind: 'signalled', pid: r.pid };
  } catch (e) {
    return { kind: 'unreachable', pid: r.pid, why: (e as NodeJS.ErrnoException).code ?? 'the signal failed' };
  }
}

/** One clause for the user: whether the change is in force now. `subject`: "it is" / "the revocation is". */
export function reloadNote(r: ReloadOutcome, subject: string): string {
  if (r === null) return 'no agent is running (an agent reads the tokens when it starts)';
  if (r.kind === 'signalled') return `the running agent (pid ${r.pid}) was told to reload (SIGHUP)`;
  const pid = r.pid === null ? '' : ` (pid ${r.pid})`;
  return `an agent${pid} seems to be running but was not told (${r.why}); ${subject} in force once it reloads${r.pid === null ? '' : `: kill -HUP ${r.pid}`}`;
}
