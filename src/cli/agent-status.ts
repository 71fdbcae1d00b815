/**
 * The agent block shared by `agent status --json` and `status --json` (schema 1):
 * schema, running, accessible, pid, socket, project, idle_remaining_s,
 * absolute_remaining_s, started_at, version, protocol (+ idle_s, ttl_s, error, and
 * `hardening` {dumpable, core_limit, key_mlocked, inspector_disabled, tracer_pid_at_start,
 * ptrace_scope} from an agent that reports it; see core/agent/doors.ts; and from a v2 agent
 * `require_token`, `listeners` [{kind, name?, socket}] and, for the owner, `tokens_last_used`
 * {id8: time}; `require_token: true` also when the agent refused us for want of a token).
 * Fields an agent that is not running cannot tell are null. Never secret.
 */
import type { Ctx } from './context.js';

/** Probes the agent for this home (node:net only) and adds the current project. */
export async function agentStatusBlock(ctx: Ctx): Promise<Record<string, unknown> & { running: boolean; accessible: boolean }> {
  const { probeAgent } = await import('../core/agent/probe.js');
  const r = await probeAgent(ctx.paths, ctx.env);
  let project: string | null;
  try {
    project = ctx.project().name;
  } catch {
    project = null;
  }
  const { schema, running, accessible, pid, socket, ...rest } = r;
  return { schema, running, accessible, pid, socket, project, ...rest };
}

/** Exit code of `agent status`: 0 running and accessible, 3 not running, 8 denied, else 1. */
export function agentStatusExit(b: { running: boolean; accessible: boolean; error?: unknown }): number {
  if (!b.running) return 3;
  if (b.accessible) return 0;
  return (b.error as { code?: string } | undefined)?.code === 'DENIED' ? 8 : 1;
}
