/** A running agent as a SecretReader (reader.ts and the run fast path share it). */
import type { AgentClient } from '../core/agent/client.js';
import type { SecretReader } from './secret-reader.js';
import { pendingNote as onFrame } from './pending-note.js';

export function agentReader(client: AgentClient): SecretReader {
  return {
    via: 'agent',
    client,
    get: (project, key) => client.get(project, key, { onFrame }),
    getSelected: (project, sel) => client.getSelected(project, sel, { onFrame }),
    close: () => {
      client.close();
    },
    names: async (project, prefix) => (await client.list(project, prefix)).flatMap((p) => p.keys.map((k) => k.key)),
  };
}
