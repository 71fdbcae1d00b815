/**
 * `sesame lock`: clear this home's session tier entries and stop a running agent (which
 * wipes its keys). Always tries both, whatever --no-agent or SESAME_NO_AGENT say: a lock
 * that silently left the agent serving would be worse than useless. The agent is found as
 * every reader finds it (agent-stop.ts); "no agent was running" only when there is no sign
 * of one, else exit non-zero naming the pid it could not reach.
 */
import { SesameError } from '../../core/errors.js';
import type { Command } from '../command.js';
import { info, json as outJson } from '../output.js';

const cmd: Command = {
  usage: 'lock\n\nexample:\n  sesame lock',
  summary: 'forget the session passphrase and stop the agent (its keys are wiped)',
  flags: {},
  async run(ctx) {
    const { lockSession } = await import('../../core/passphrase/manage.js');
    const cleared = lockSession(await ctx.chain());
    const { stopHomeAgent } = await import('../agent-stop.js');
    let agentStopped: boolean;
    try {
      agentStopped = await stopHomeAgent(ctx);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new SesameError(e instanceof SesameError ? e.code : 'ERROR', `the session tier was cleared, but the agent was not stopped: ${why}`, {
        hint: e instanceof SesameError && e.hint ? e.hint : 'stop it with `sesame agent stop` (or kill the pid `sesame agent status` shows)',
        ...(e instanceof SesameError && e.detail ? { detail: e.detail } : {}),
      });
    }
    await (await import('../audit-event.js')).auditEvent(ctx, { event: 'lock', outcome: 'ok', reason: agentStopped ? 'agent_stopped' : 'no_agent' });
    if (ctx.json) outJson({ locked: true, session_entries_cleared: cleared, agent_stopped: agentStopped });
    else {
      info(cleared ? 'cleared the session passphrase' : 'no session passphrase was stored');
      info(agentStopped ? 'stopped the agent; its keys are wiped' : 'no agent was running');
    }
    return 0;
  },
};
export default cmd;
