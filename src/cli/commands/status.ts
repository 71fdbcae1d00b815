import type { Command } from '../command.js';
import { json as outJson, out } from '../output.js';
import { collectStatus } from '../status-info.js';

const cmd: Command = {
  usage: 'status [--json]\n\nexample:\n  sesame status',
  summary: 'the vault, the current project, the agent and the unlock sources (never a secret)',
  flags: {},
  async run(ctx) {
    const s = await collectStatus(ctx);
    if (ctx.json) {
      outJson(s);
      return 0;
    }
    const lines = [
      `home:     ${s.home}`,
      `vault:    ${s.vault.exists ? `${s.vault.path} (id ${s.vault.id ?? '?'}${s.vault.error ? `, ${s.vault.error}` : ''})` : `none at ${s.vault.path} — run \`sesame init\``}`,
      `project:  ${s.project.name} (from ${s.project.file ?? s.project.source})${s.vault.exists ? `, ${s.vault.keys ?? 0} keys; ${s.vault.projects ?? 0} projects` : ''}`,
      `agent:    ${s.agent.running ? `running (pid ${String(s.agent.pid)}), socket ${String(s.agent.socket)}` : 'not running'}`,
      `unlock:   ${s.unlock.map((t) => `${t.tier}=${t.state}`).join(' ')}`,
    ];
    out(`${lines.join('\n')}\n`);
    return 0;
  },
};
export default cmd;
