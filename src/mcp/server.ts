/**
 * `sesame mcp`: a stdio MCP server (the official SDK's McpServer + StdioServerTransport) whose
 * tools go through the agent and nothing else (link.ts). What the model can see (docs/mcp.md):
 *
 * - `list_secrets`: names and metadata within scope; never a value.
 * - `check_command`: the agent's allow/deny decision for an argv; nothing runs.
 * - `run_command`: argv (never a shell) run by the agent's `exec` under the profile's
 *   allowlist; stdout/stderr come back masked by the agent (`<sesame:KEY>`), capped, with the
 *   exit code and the masked-hit counts.
 * - `get_secret`: registered only when the agent says this caller may reveal (a `check` of a
 *   `get`); a high-value key waits for the owner's approval while the call stays open.
 *
 * Every refusal is a tool result with `isError` (never a protocol error): what happened, in the
 * agent's words, and what the owner could do. stdout belongs to the protocol: nothing else is
 * written there.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { SesameError } from '../core/errors.js';
import { AgentLink, MAX_STDIN, OUTPUT_HEAD, OUTPUT_TAIL, labelText, type ExecResult } from './link.js';

/** How the server was started. */
export interface ServeOptions {
  readonly link: AgentLink;
  /** The project a tool uses when the call names none. */
  readonly project: string;
  readonly version: string;
  /** A note for stderr (the MCP client's log); never secret. */
  readonly note: (msg: string) => void;
}

type Extra = {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number };
  sendNotification: (n: { method: 'notifications/progress'; params: { progressToken: string | number; progress: number; message?: string } }) => Promise<void>;
};

const ARGV = z.array(z.string().min(1).max(4096)).min(1).max(256).describe('the program and its arguments; argv[0] is a name or an absolute path, resolved by the agent; never a shell');
const PROJECT = z.string().min(1).max(64).optional().describe('the project (default: the server’s project)');

/** Starts the server on stdin/stdout; resolves when the client goes away. */
export async function serveMcp(o: ServeOptions): Promise<void> {
  const server = new McpServer(
    { name: 'sesame', version: o.version },
    {
      capabilities: { tools: { listChanged: true } },
      instructions:
        'sesame holds secrets for this machine. Use list_secrets to see which names exist (never values), check_command to ask whether a command may run, and run_command to run one with its secrets injected by sesame: its output comes back with every secret masked as <sesame:KEY>. Values are never shown unless get_secret is offered.',
    },
  );
  const { link } = o;
  const project = (p: string | undefined): string => p ?? o.project;

  server.registerTool(
    'list_secrets',
    {
      title: 'List secrets (names only)',
      description: 'Lists the secret names (and their metadata: created, updated, version, high_value) this server may use, per project. Never returns a value.',
      inputSchema: { project: PROJECT.describe('only this project (default: every project in scope)'), prefix: z.string().max(128).optional().describe('only names starting with this') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ project: p, prefix }) =>
      guard(async () => {
        const projects = await link.list(p, prefix);
        void maybeOfferGet();
        return ok(JSON.stringify({ projects: projects.map((x) => ({ project: x.name, keys: x.keys })) }, null, 2));
      }),
  );

  server.registerTool(
    'check_command',
    {
      title: 'Check whether a command may run',
      description:
        'Asks sesame whether run_command would be allowed for this argv: the decision, the reason when refused, the program it resolves to, and the secret names it would get. Nothing runs.',
      inputSchema: { argv: ARGV, project: PROJECT },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ argv, project: p }) =>
      guard(async () => {
        const r = await link.check({ what: 'exec', project: project(p), argv });
        const text = r.allowed
          ? `allowed: ${r.resolved ?? argv[0]!} would run with ${r.keys.length ? `the secrets ${r.keys.join(', ')}` : 'no secrets'} injected`
          : `not allowed (${r.reason ?? 'denied'})${ownerAdvice(r.reason ?? '', 'exec')}`;
        return ok(`${text}\n${JSON.stringify(r)}`);
      }),
  );

  server.registerTool(
    'run_command',
    {
      title: 'Run a command with its secrets',
      description: `Runs argv (no shell) through sesame under this server's allowlist, with the project's secrets in its environment. Returns the exit code, stdout and stderr with every secret value masked as <sesame:KEY>, and how many times each key was masked. Each stream keeps its first ${OUTPUT_HEAD} and last ${OUTPUT_TAIL} bytes; a note says how much was cut.`,
      inputSchema: {
        argv: ARGV,
        cwd: z.string().min(1).max(4096).optional().describe('absolute working directory (default: the directory the MCP server was started in)'),
        stdin: z.string().max(MAX_STDIN).optional().describe(`text for the command’s standard input (at most ${MAX_STDIN} bytes as UTF-8; closed after it)`),
        timeout_s: z.number().int().min(1).max(3600).optional().describe('kill the command after this many seconds'),
        project: PROJECT,
      },
      annotations: { destructiveHint: true, openWorldHint: true },
    },
    async ({ argv, cwd, stdin, timeout_s, project: p }, extra) =>
      guard(async () => {
        const input = stdin === undefined ? undefined : Buffer.from(stdin, 'utf8');
        if (input && input.length > MAX_STDIN)
          throw new SesameError('USAGE', `stdin is ${input.length} bytes; run_command takes at most ${MAX_STDIN}`, { hint: 'write the input to a file and pass its path in argv' });
        const r = await link.exec(
          { project: project(p), argv, cwd: cwd ?? process.cwd(), ...(input ? { stdin: input } : {}), ...(timeout_s !== undefined ? { timeoutS: timeout_s } : {}) },
          { signal: extra.signal, onPending: pendingNotifier(extra) },
        );
        return execResult(r);
      }),
  );

  const get = { offered: false };
  const offered = (): boolean => get.offered;
  /** Registers get_secret once the agent says this caller may reveal (a `check` of a get on a key in scope). */
  async function maybeOfferGet(): Promise<void> {
    if (get.offered) return;
    try {
      if (!(await link.ops()).includes('check')) return;
      const projects = await link.list();
      const first = projects.find((x) => x.keys.length > 0);
      if (!first) return;
      const r = await link.check({ what: 'get', project: first.name, key: first.keys[0]!.key });
      // Another call may have offered it while this one waited.
      if (!r.allowed || offered()) return;
    } catch {
      return;
    }
    get.offered = true;
    server.registerTool(
      'get_secret',
      {
        title: 'Reveal one secret',
        description:
          'Returns the value of one secret. Prefer run_command, which injects secrets without showing them. A high-value key waits for the owner’s approval; the call stays open until the owner decides.',
        inputSchema: { key: z.string().min(1).max(128).describe('the secret’s name'), project: PROJECT },
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      async ({ key, project: p }, extra) =>
        guard(async () => {
          const v = await link.get(project(p), key, pendingNotifier(extra));
          try {
            // Residual (docs/mcp.md): the value becomes a JS string in the JSON-RPC reply; that is what revealing it means.
            const text = new TextDecoder('utf-8', { fatal: true }).decode(v);
            return ok(text);
          } catch {
            return ok(v.toString('base64'), 'the value is not UTF-8 text: shown as base64');
          } finally {
            v.fill(0);
          }
        }),
    );
  }

  server.server.oninitialized = () => {
    const info = server.server.getClientVersion();
    // The agent takes 1 to 64 printable characters each: an empty (or wholly unprintable) one is named as such.
    link.setClient(info ? { name: labelText(info.name) || 'unnamed', version: labelText(info.version) || 'unknown' } : undefined);
  };

  await maybeOfferGet();
  if (!get.offered) o.note('sesame mcp: get_secret is not offered (the agent does not allow this caller to reveal values, or is not reachable yet)');

  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = resolve;
  });
  await server.connect(transport);
  process.stdin.once('end', () => {
    void transport.close();
  });
  await closed;
  link.close();
}

/** Sends MCP progress for every approval wait, when the client asked for progress. */
function pendingNotifier(extra: Extra): (frame: Readonly<Record<string, unknown>>) => void {
  let n = 0;
  return (frame) => {
    const token = extra._meta?.progressToken;
    if (token === undefined) return;
    const detail = frame.detail as { expires_in_s?: unknown } | undefined;
    const secs = typeof detail?.expires_in_s === 'number' && Number.isSafeInteger(detail.expires_in_s) ? ` (up to ${detail.expires_in_s} s)` : '';
    void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: ++n, message: `waiting for the owner's approval${secs}` } }).catch(() => {});
  };
}

function ok(text: string, note?: string): CallToolResult {
  return {
    content: note
      ? [
          { type: 'text', text: note },
          { type: 'text', text },
        ]
      : [{ type: 'text', text }],
  };
}

function execResult(r: ExecResult): CallToolResult {
  const hits = Object.entries(r.masked).filter(([, n]) => n > 0);
  const head = r.signal !== null ? `killed by ${r.signal}` : `exit code ${String(r.code)}`;
  const lines = [head, hits.length ? `masked: ${hits.map(([k, n]) => `${k} ×${n}`).join(', ')}` : 'masked: nothing'];
  if (r.tooShort.length) lines.push(`not masked (too short to mask safely): ${r.tooShort.join(', ')}`);
  for (const s of ['stdout', 'stderr'] as const) {
    if (r.cut[s] > 0) lines.push(`${s} was cut: ${r.cut[s]} bytes dropped from the middle (kept the first ${OUTPUT_HEAD} and last ${OUTPUT_TAIL} bytes)`);
  }
  return {
    content: [
      { type: 'text', text: lines.join('\n') },
      { type: 'text', text: `stdout:\n${r.stdout.toString('utf8')}` },
      { type: 'text', text: `stderr:\n${r.stderr.toString('utf8')}` },
    ],
  };
}

/** Runs a tool body; any failure becomes a tool error the model can read (never a protocol error). */
async function guard(body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (e) {
    return toolError(e);
  }
}

/** The tool error for a failure: the agent's code, message and hint, and what the owner could do. */
function toolError(e: unknown): CallToolResult {
  if (!(e instanceof SesameError)) {
    // A bug of ours: its stack goes to the MCP client's log (stderr), not to the model.
    process.stderr.write(`sesame mcp: internal error: ${e instanceof Error ? (e.stack ?? e.name) : 'unknown'}\n`);
    return { content: [{ type: 'text', text: `sesame failed: ${e instanceof Error ? e.name : 'error'} (an internal error; the server's log has the details)` }], isError: true };
  }
  const reason = typeof e.detail?.reason === 'string' ? e.detail.reason : '';
  const kind = kindOf(e, reason);
  const parts = [`${kind}: ${e.message}`];
  const hint = e.hint;
  if (hint) parts.push(`hint: ${hint}`);
  const advice = ownerAdvice(reason, kind);
  if (advice) parts.push(advice.trim());
  if (reason === 'rate' && typeof e.detail?.retry_after_s === 'number') parts.push(`retry after ${e.detail.retry_after_s} s`);
  return { content: [{ type: 'text', text: parts.join('\n') }], isError: true };
}

function kindOf(e: SesameError, reason: string): string {
  if (e.code === 'DENIED') {
    if (reason === 'rate') return 'rate limited';
    if (reason.startsWith('approval')) return reason === 'approval_timeout' ? 'approval timed out' : 'approval refused';
    return 'denied';
  }
  if (e.code === 'NOT_FOUND') return 'not found';
  if (e.code === 'LOCKED') return 'locked';
  if (e.code === 'UNAVAILABLE') return reason === 'no_agent' ? 'agent not running' : 'agent unavailable';
  return e.code.toLowerCase();
}

/** What the owner could do, by refusal reason (a Map: the reason comes off the wire). */
const OWNER_ADVICE: ReadonlyMap<string, string> = new Map([
  ['scope', 'the owner could widen the token’s or profile’s scope (projects, keys, ops)'],
  ['reveal', 'this server may not reveal values: use run_command, or the owner sets reveal = true in the profile'],
  ['not_allowed_command', 'the owner could add the program’s absolute path to the profile’s commands'],
  ['rate', 'the owner could raise the profile’s rate_limit'],
  ['token_unknown', 'the token is unknown, expired or revoked: the owner makes a new one (sesame token new)'],
  ['approval_timeout', 'the owner did not answer in time: ask again, and ask the owner to approve it'],
  ['approval_denied', 'the owner refused this request'],
  ['approval_pending', 'a request for the same secrets already waits for the owner: wait for that call to end, then ask again if it was not approved'],
  ['approval_rate', 'too many approval requests in a minute: wait, then ask again; the owner approves with sesame approve at their terminal'],
  ['profile', 'the owner could change the profile'],
  ['not_found', 'no such project or key within this server’s scope (list_secrets shows what it may use); the owner could add it or widen the scope'],
]);

/** What the owner (a person, outside this conversation) could do about a refusal. */
function ownerAdvice(reason: string, kind: string): string {
  const advice = OWNER_ADVICE.get(reason);
  if (advice) return `\nwhat the owner could do: ${advice}`;
  if (kind === 'not found') return '\nlist_secrets shows the names this server may use; the owner could add the secret or widen the scope';
  if (kind === 'locked') return '\nwhat the owner could do: unlock the vault (sesame unlock, or start the agent)';
  if (kind === 'agent not running') return '\nwhat the owner could do: start the agent (sesame agent start)';
  return '';
}
