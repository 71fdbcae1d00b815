/** The shape every source of secrets has for the read commands: the agent or a direct unlock. */
import type { AgentClient } from '../core/agent/client.js';
import type { Selection } from '../core/vault/vault.js';

export interface SecretReader {
  via: 'agent' | 'direct';
  /** The value, in a Buffer the caller wipes. */
  get(project: string, key: string): Promise<Buffer>;
  getSelected(project: string, sel: Selection): Promise<{ secrets: Array<[string, Buffer]>; missing: string[] }>;
  close(): void;
  /** The agent connection behind an agent reader (run's exec); absent on a direct one. */
  client?: AgentClient;
  /** The key names of `project` this caller may see (starting with `prefix`), never values; absent on the direct path. */
  names?(project: string, prefix?: string): Promise<string[]>;
}
