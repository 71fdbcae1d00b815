/**
 * Helpers for the `sesame mcp` tests: a home with two projects and profiles, a connected MCP
 * client (the SDK's own Client + StdioClientTransport spawning the built `sesame.cjs mcp`)
 * that logs every JSON-RPC message it receives, and the scan for secret values.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { BIN, initHome, sesame, setSecret, type TestHome } from './cli.js';

/** Values no reply may carry (only get_secret on a reveal profile shows one, and those tests do not scan). */
export const VALUES: Record<string, string> = {
  A_KEY: 'mcp-secret-alpha-7Qz3vX9w',
  B_KEY: 'mcp-secret-bravo-K2p8Lm4n',
  API_X: 'mcp-secret-api-Yh5Tg1Rd6s',
  DB_URL: 'postgres://u:mcp-pw-J8c3Vb0q@db/x',
};

/** A home with projects default (A_KEY, B_KEY) and work (API_X, DB_URL), and these profiles. */
export async function mcpHome(prefix: string, profiles: Record<string, string>): Promise<TestHome> {
  const h = await initHome(prefix);
  await setSecret(h, 'A_KEY', VALUES.A_KEY!);
  await setSecret(h, 'B_KEY', VALUES.B_KEY!);
  const p = await sesame(['projects', 'create', 'work'], { env: h.env });
  assert.equal(p.code, 0, p.stderr);
  await setSecret(h, 'API_X', VALUES.API_X!, ['--project', 'work']);
  await setSecret(h, 'DB_URL', VALUES.DB_URL!, ['--project', 'work']);
  const dir = path.join(h.dir, 'profiles');
  fs.mkdirSync(dir, { mode: 0o700, recursive: true });
  for (const [name, text] of Object.entries(profiles)) fs.writeFileSync(path.join(dir, `${name}.toml`), text, { mode: 0o600 });
  return h;
}

/** A connected MCP client of a spawned `sesame mcp ARGS`, with every message it received. */
export interface Session {
  client: Client;
  received: string[];
  stderr: () => string;
  pid: number | null;
  close(): Promise<void>;
}

export async function connect(h: TestHome, args: string[], env: NodeJS.ProcessEnv = h.env, name = 'sesame-test-client'): Promise<Session> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp', ...args], env: env as Record<string, string>, stderr: 'pipe' });
  let err = '';
  transport.stderr?.on('data', (b: Buffer) => {
    err += b.toString('utf8');
  });
  const client = new Client({ name, version: '0.0.1' });
  const received: string[] = [];
  await client.connect(transport);
  // Every message from here on; the initialize answer is logged by asking for it again below.
  const orig = transport.onmessage;
  transport.onmessage = (m: JSONRPCMessage) => {
    received.push(JSON.stringify(m));
    orig?.(m);
  };
  received.push(JSON.stringify({ serverInfo: client.getServerVersion(), capabilities: client.getServerCapabilities(), instructions: client.getInstructions() }));
  return {
    client,
    received,
    stderr: () => err,
    pid: transport.pid,
    close: () => client.close(),
  };
}

/** The text of a tool result's content parts. */
export function textOf(r: unknown): string {
  const c = (r as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return c.map((p) => p.text ?? '').join('\n');
}

/** Fails if any value appears, raw, base64 (any alignment of the value itself) or hex, in `seen`. */
export function assertNoValue(seen: string, values: readonly string[] = Object.values(VALUES)): void {
  for (const v of values) {
    const forms = [
      v,
      Buffer.from(v).toString('base64').replace(/=+$/, ''),
      Buffer.from(v).toString('hex'),
      Buffer.from(v).toString('hex').toUpperCase(),
      Buffer.from(v).toString('base64url').replace(/=+$/, ''),
    ];
    for (const f of forms) assert.ok(!seen.includes(f), `a secret value (in some encoding) reached the client: ${f.slice(0, 6)}…`);
  }
}
