import * as os from 'node:os';
import type { Command } from '../command.js';
import { json as outJson, out } from '../output.js';
import { collectStatus } from '../status-info.js';

const cmd: Command = {
  usage: 'whoami [--json]\n\nexample:\n  sesame whoami --json',
  summary: 'who you are to sesame: user, vault path and id, project, counts, unlock sources present (never a secret)',
  flags: {},
  async run(ctx) {
    const s = await collectStatus(ctx);
    const me = os.userInfo();
    const w = {
      schema: 1,
      uid: me.uid,
      user: me.username,
      home: s.home,
      vault: s.vault.path,
      vault_id: s.vault.id ?? null,
      project: s.project.name,
      project_source: s.project.source,
      projects: s.vault.projects ?? 0,
      keys: s.vault.keys ?? 0,
      unlock_sources: s.unlock.filter((t) => t.state === 'present').map((t) => t.tier),
      agent: s.agent.running,
    };
    if (ctx.json) outJson(w);
    else
      out(
        `${w.user} (uid ${w.uid})\nvault ${w.vault}${w.vault_id ? ` id ${w.vault_id}` : ' (not initialized)'}\nproject ${w.project} (${w.keys} keys, ${w.projects} projects)\nunlock sources present: ${w.unlock_sources.join(', ') || 'none'}\nagent: ${w.agent ? 'running' : 'not running'}\n`,
      );
    return 0;
  },
};
export default cmd;
