/**
 * `sesame lock`: clear this home's session tier entries and stop a running agent (which
 * wipes its keys). Always tries both, whatever --no-agent or SESAME_NO_AGENT say: a lock
 * that silently left the agent serving would be worse than useless.
 */
import { SesameError } from '../../core/errors.js';
import type { Command } from '../command.js';
import { info, json as outJson } from '../output.js';

const cmd: Command = {
  usage: 'lock',
  summary: 'forget the session passphrase and stop the agent (its keys are wiped)',
  flags: {},
  async run(ctx) {
    const { lockSession } = await import('../../core/passphrase/manage.js');
    const cleared = lockSession(await ctx.chain());
    const { connectAgent } = await import('../../core/agent/client.js');
    const client = await connectAgent(ctx.paths.agentSock, ctx.env);
    let agentStopped = false;
    if (client) {
      try {
        await client.stop();
        agentStopped = true;
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        throw new SesameError(e instanceof SesameError ? e.code : 'ERROR', `the session tier was cleared, but the agent did not stop: ${why}`, {
          hint: 'stop it with `sesame agent stop` (or kill the pid `sesame agent status` shows)',
        });
      } finally {
        client.close();
      }
    }
    if (ctx.json) outJson({ locked: true, session_entries_cleared: cleared, agent_stopped: agentStopped });
    else {
      info(cleared ? 'cleared the session passphrase' : 'no session passphrase was stored');
      info(agentStopped ? 'stopped the agent; its keys are wiped' : 'no agent was running');
    }
    return 0;
  },
};
export default cmd;
