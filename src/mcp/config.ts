/**
 * `sesame mcp config --client NAME`: the snippet an MCP client needs to start `sesame mcp`.
 *
 * The token never appears in a snippet: MCP clients keep their configuration in files that are
 * often world-readable, synced, or shown to the model. A snippet names either a profile (its
 * socket is the capability) or a 0600 token file (`--token-file`), which `sesame mcp` reads
 * itself and refuses when its permissions are loose.
 */

/** The clients a snippet can be printed for, and where each keeps its configuration. */
export const CLIENTS: Readonly<Record<string, { form: 'mcpServers' | 'vscode' | 'cli'; where: string }>> = {
  'claude-desktop': { form: 'mcpServers', where: 'claude_desktop_config.json (Settings → Developer → Edit Config), under "mcpServers"' },
  'claude-code': { form: 'cli', where: 'run it once in a shell; or put the JSON form in .mcp.json at the project root' },
  cursor: { form: 'mcpServers', where: '~/.cursor/mcp.json (all projects) or .cursor/mcp.json (one project), under "mcpServers"' },
  windsurf: { form: 'mcpServers', where: '~/.codeium/windsurf/mcp_config.json, under "mcpServers"' },
  vscode: { form: 'vscode', where: '.vscode/mcp.json (one workspace) or the user mcp.json, under "servers"' },
  json: { form: 'mcpServers', where: 'any client that reads the common "mcpServers" JSON form' },
};

/** What the snippet starts. */
export interface SnippetInput {
  readonly client: string;
  /** The sesame executable, as an absolute path (MCP clients do not read the user's shell PATH). */
  readonly command: string;
  readonly home: string;
  readonly profile?: string;
  readonly tokenFile?: string;
  readonly project?: string;
}

/** The argv of `sesame mcp` for the snippet (no token, ever). */
function serverArgs(i: SnippetInput): string[] {
  return ['mcp', '--home', i.home, ...(i.profile ? ['--profile', i.profile] : []), ...(i.tokenFile ? ['--token-file', i.tokenFile] : []), ...(i.project ? ['--project', i.project] : [])];
}

/** A POSIX shell word for `s`. */
function sh(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The snippet text for `i.client` (one of CLIENTS). */
export function snippet(i: SnippetInput): string {
  const c = CLIENTS[i.client]!;
  const args = serverArgs(i);
  const json = (o: unknown): string => `${JSON.stringify(o, null, 2)}\n`;
  if (c.form === 'cli') {
    return `claude mcp add --scope user sesame -- ${[i.command, ...args].map(sh).join(' ')}\n`;
  }
  if (c.form === 'vscode') return json({ servers: { sesame: { type: 'stdio', command: i.command, args } } });
  return json({ mcpServers: { sesame: { command: i.command, args } } });
}
