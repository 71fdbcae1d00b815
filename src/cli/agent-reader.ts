/** A running agent as a SecretReader (reader.ts and the run fast path share it). */
import type { AgentClient } from '../core/agent/client.js';
import type { SecretReader } from './secret-reader.js';

export function agentReader(client: AgentClient): SecretReader {
  return {
    via: 'agent',
    client,
    get: (project, key) => client.get(project, key),
    getSelected: (project, sel) => client.getSelected(project, sel),
    close: () => {
      client.close();
    },
  };
}
