/**
 * `sesame mcp [--profile NAME] [--token-file FILE]`: a stdio MCP server for AI agents that
 * talks only to the agent (src/mcp/, docs/mcp.md); `sesame mcp config --client NAME` prints
 * the snippet an MCP client needs to start it.
 *
 * The MCP SDK is loaded only here, by a dynamic import: no other command (least of all the
 * `get` fast path) pays for it. Nothing on this path opens the vault or loads libsodium.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SesameError } from '../../core/errors.js';
import { usage } from '../args.js';
import type { Command } from '../command.js';
import { info, out, warn } from '../output.js';
import { VERSION } from '../version.js';

const cmd: Command = {
  usage:
    'mcp [--profile NAME] [--token-file FILE] [-p PROJECT]\n       sesame mcp config --client NAME [--profile NAME] [--token-file FILE]\n\nexamples:\n  sesame mcp --profile assistant            # what an MCP client starts (stdio)\n  sesame mcp config --client claude-desktop --profile assistant',
  summary: 'serve MCP tools (list_secrets, check_command, run_command, get_secret) to an AI agent over stdio, through the agent',
  flags: {
    profile: { type: 'string', arg: 'NAME', help: "speak through this profile's socket (its scope, reveal and commands apply)" },
    'token-file': { type: 'string', arg: 'FILE', help: 'read the token from FILE (yours, mode 0600) instead of SESAME_AGENT_TOKEN' },
    client: { type: 'string', arg: 'NAME', help: 'config: claude-desktop, claude-code, cursor, windsurf, vscode or json' },
  },
  maxPositionals: 1,
  async run(ctx, args) {
    const sub = args.positionals[0];
    const profile = args.flags.profile as string | undefined;
    const tokenFile = args.flags['token-file'] as string | undefined;
    if (profile !== undefined) {
      const { isValidProfileName } = await import('../../core/policy/profiles.js');
      if (!isValidProfileName(profile)) throw usage(`invalid profile name ${JSON.stringify(profile.slice(0, 64))}`, 'profile names match [A-Za-z0-9][A-Za-z0-9_-]*, at most 32 characters');
    }
    if (sub === 'config') return config(ctx.paths.home, args.flags.client as string | undefined, profile, tokenFile, ctx.projectFlag);
    if (sub !== undefined) throw usage(`unknown subcommand mcp ${JSON.stringify(sub)}`, 'use `sesame mcp` (the server) or `sesame mcp config --client NAME`');
    if (args.flags.client !== undefined) throw usage('--client belongs to `sesame mcp config`');
    return serve(ctx, profile, tokenFile);
  },
};

async function serve(ctx: Parameters<Command['run']>[0], profile: string | undefined, tokenFile: string | undefined): Promise<number> {
  const { AgentLink, readTokenFile } = await import('../../mcp/link.js');
  const env: NodeJS.ProcessEnv = { ...ctx.env };
  if (tokenFile !== undefined) env.SESAME_AGENT_TOKEN = readTokenFile(tokenFile);
  let socket = ctx.paths.agentSock;
  if (profile !== undefined) {
    const { profileListener } = await import('../../core/agent/listeners.js');
    socket = profileListener(ctx.paths.home, profile, 'same-uid', ctx.env).socket;
  }
  const link = new AgentLink({ socket, env, ...(profile !== undefined ? { profile } : {}) });
  const project = await defaultProject(ctx, link);
  const { serveMcp } = await import('../../mcp/server.js');
  await serveMcp({ link, project, version: VERSION, note: info });
  return 0;
}

/**
 * The project a tool uses when the call names none: -p / SESAME_PROJECT when given; else the
 * only project in scope when there is exactly one (a profile of one project); else the home's.
 */
async function defaultProject(ctx: Parameters<Command['run']>[0], link: InstanceType<typeof import('../../mcp/link.js').AgentLink>): Promise<string> {
  if (ctx.projectFlag !== undefined || ctx.env.SESAME_PROJECT) return ctx.project().name;
  try {
    const ps = await link.list();
    if (ps.length === 1) return ps[0]!.name;
  } catch {
    // No agent yet, or no list in scope: the home's project.
  }
  return ctx.project().name;
}

async function config(home: string, client: string | undefined, profile: string | undefined, tokenFile: string | undefined, project: string | undefined): Promise<number> {
  const { CLIENTS, snippet } = await import('../../mcp/config.js');
  if (client === undefined || !Object.hasOwn(CLIENTS, client)) {
    throw usage(client === undefined ? 'mcp config needs --client NAME' : `unknown client ${JSON.stringify(client.slice(0, 64))}`, `clients: ${Object.keys(CLIENTS).join(', ')}`);
  }
  let file: string | undefined;
  if (tokenFile !== undefined) {
    file = path.resolve(tokenFile);
    // Checked now, so that a loose file is fixed before a client is pointed at it.
    const { readTokenFile } = await import('../../mcp/link.js');
    readTokenFile(file);
  }
  if (profile === undefined && file === undefined) {
    warn(
      'no --profile and no --token-file: this server would ask the agent as you, with your whole vault in reach; give it a profile (sesame profile …) or a scoped token (sesame token new … > FILE, mode 0600)',
    );
  }
  const command = executable();
  out(snippet({ client, command, home, ...(profile !== undefined ? { profile } : {}), ...(file !== undefined ? { tokenFile: file } : {}), ...(project !== undefined ? { project } : {}) }));
  info(`# ${client}: ${CLIENTS[client]!.where}`);
  info('# no token is in this snippet: the server reaches the agent through the profile socket, or reads the token from the 0600 file named');
  return 0;
}

/** The absolute path this sesame was started as (a package bin stays the bin link, so upgrades keep working). */
function executable(): string {
  const a = process.argv[1];
  if (a && path.isAbsolute(a) && fs.existsSync(a)) return a;
  if (a) {
    const abs = path.resolve(a);
    if (fs.existsSync(abs)) return abs;
  }
  throw new SesameError('ERROR', 'cannot tell where this sesame executable is', { hint: 'run `sesame mcp config` from the installed sesame' });
}

export default cmd;
