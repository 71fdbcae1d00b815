/** The shape every source of secrets has for the read commands: the agent or a direct unlock. */
import type { Selection } from '../core/vault/vault.js';

export interface SecretReader {
  via: 'agent' | 'direct';
  /** The value, in a Buffer the caller wipes. */
  get(project: string, key: string): Promise<Buffer>;
  getSelected(project: string, sel: Selection): Promise<{ secrets: Array<[string, Buffer]>; missing: string[] }>;
  close(): void;
  /** The key names of `project` this caller may see (starting with `prefix`), never values; absent on the direct path. */
  names?(project: string, prefix?: string): Promise<string[]>;
}
