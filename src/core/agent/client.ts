/**
 * The agent client. Uses only node:net: no libsodium, no koffi on this path.
 * (Placeholder API: the agent work fills in the implementation.)
 */
import type { Selection } from '../vault/vault.js';

export interface AgentStatus {
  schema: number;
  running: boolean;
  accessible: boolean;
  pid?: number;
  socket: string;
  [k: string]: unknown;
}

export interface AgentClient {
  get(project: string, key: string): Promise<Buffer>;
  getSelected(project: string, sel: Selection): Promise<{ secrets: Array<[string, Buffer]>; missing: string[] }>;
  status(): Promise<AgentStatus>;
  stop(): Promise<void>;
  close(): void;
}

/** Connects to a live agent; null when none is listening at `sock`. */
export async function connectAgent(sock: string, env: NodeJS.ProcessEnv): Promise<AgentClient | null> {
  void sock;
  void env;
  return null;
}
