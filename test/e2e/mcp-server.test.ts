/**
 * `sesame mcp` against a real agent (docs/mcp.md): the SDK's own Client and
 * StdioClientTransport spawn the built `sesame.cjs mcp`; every JSON-RPC message the client
 * receives is logged, and what it saw is scanned for every secret value (raw, base64, hex).
 *
 * Promises tested: the tools and their schemas; list_secrets gives names and metadata within
 * scope and no value; get_secret exists only where the profile may reveal; every refusal is a
 * tool error (isError) saying what the owner could do — not found, denied (revoked token),
 * rate limited, agent not running; a token file with loose permissions is refused; the server
 * never loads libsodium; the config snippets never hold a token. run_command/check_command
 * need the agent's exec/check ops (mcp-exec.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { BIN, sesame } from '../helpers/cli.js';
import { startAgent, stopAgent, waitFor } from '../helpers/agent.js';
import { assertNoValue, connect, mcpHome, textOf } from '../helpers/mcp.js';

test('offers list_secrets, check_command and run_command with their schemas, and no get_secret to a profile without reveal', async () => {
  const h = await mcpHome('sesame-mcp-tools-', { box: 'projects = ["work"]\nkeys = ["*"]\n' });
  try {
    await startAgent(h);
    const s = await connect(h, ['--profile', 'box']);
    try {
      const { tools } = await s.client.listTools();
      const byName = new Map(tools.map((t) => [t.name, t]));
      assert.deepEqual([...byName.keys()].sort(), ['check_command', 'list_secrets', 'run_command']);
      const run = byName.get('run_command')!;
      assert.deepEqual(run.inputSchema.required, ['argv']);
      const props = run.inputSchema.properties as Record<string, { type?: string }>;
      assert.deepEqual(Object.keys(props).sort(), ['argv', 'cwd', 'project', 'stdin', 'timeout_s']);
      assert.equal(props.argv!.type, 'array');
      assert.match(run.description ?? '', /masked as <sesame:KEY>/);
      assert.match(run.description ?? '', /first 24576 and last 8192 bytes/, 'the cap is stated');
      assert.deepEqual(byName.get('check_command')!.inputSchema.required, ['argv']);
      assert.equal(byName.get('list_secrets')!.annotations?.readOnlyHint, true);
      const info = s.client.getServerVersion();
      assert.equal(info?.name, 'sesame');
    } finally {
      await s.close();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('list_secrets gives the names and metadata within the profile’s scope and no value; a project outside it is "not found" as a tool error', async () => {
  const h = await mcpHome('sesame-mcp-list-', { box: 'projects = ["work"]\nkeys = ["API_*"]\n' });
  try {
    await startAgent(h);
    const s = await connect(h, ['--profile', 'box']);
    try {
      const r = await s.client.callTool({ name: 'list_secrets', arguments: {} });
      assert.notEqual(r.isError, true, textOf(r));
      const doc = JSON.parse(textOf(r)) as { projects: Array<{ project: string; keys: Array<{ key: string; high_value: boolean; version: number }> }> };
      assert.deepEqual(
        doc.projects.map((p) => [p.project, p.keys.map((k) => k.key)]),
        [['work', ['API_X']]],
      );
      assert.equal(typeof doc.projects[0]!.keys[0]!.version, 'number');
      const other = await s.client.callTool({ name: 'list_secrets', arguments: { project: 'default' } });
      assert.equal(other.isError, true);
      assert.match(textOf(other), /^not found: /);
      assert.match(textOf(other), /list_secrets shows the names/);
      assertNoValue(s.received.join('\n') + s.stderr());
    } finally {
      await s.close();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a revoked token is a tool error saying the owner makes a new one; a rate limit says when to retry', async () => {
  const h = await mcpHome('sesame-mcp-deny-', { slow: 'projects = ["work"]\nkeys = ["*"]\nrate_limit = "2/min"\n' });
  try {
    const made = await sesame(['token', 'new', '--project', 'default', '--ops', 'list,get', '--name', 'assistant'], { env: h.env });
    assert.equal(made.code, 0, made.stderr);
    const token = made.out.trim();
    const tokenFile = path.join(path.dirname(h.dir), 'assistant.token');
    fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    await startAgent(h);
    const s = await connect(h, ['--token-file', tokenFile]);
    try {
      const r = await s.client.callTool({ name: 'list_secrets', arguments: {} });
      assert.notEqual(r.isError, true, textOf(r));
      assert.deepEqual(
        (JSON.parse(textOf(r)) as { projects: Array<{ project: string }> }).projects.map((p) => p.project),
        ['default'],
        'the token’s scope, not the owner’s',
      );
      const list = await sesame(['token', 'list', '--json'], { env: h.env });
      const id = (JSON.parse(list.out) as { tokens: Array<{ id8: string }> }).tokens[0]!.id8;
      const rv = await sesame(['token', 'revoke', id], { env: h.env });
      assert.equal(rv.code, 0, rv.stderr);
      let denied: unknown;
      for (let i = 0; i < 50; i++) {
        denied = await s.client.callTool({ name: 'list_secrets', arguments: {} });
        if ((denied as { isError?: boolean }).isError) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal((denied as { isError?: boolean }).isError, true);
      assert.match(textOf(denied), /^denied: /);
      assert.match(textOf(denied), /the owner makes a new one/);
      assert.ok(!s.received.join('\n').includes(token), 'the token never reaches the client');
      // The token's list is recorded with via token:ID8 and, beside it, the MCP client's declared name: a label, not who asked.
      const records = fs
        .readFileSync(path.join(h.dir, 'audit.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { event: string; outcome: string; via?: string; client_via?: string; client_declared?: string });
      // (The server's own probe at start, before the client said who it is, is the first; the tool call's is the last.)
      const listed = records.filter((r) => r.event === 'list' && r.outcome === 'ok' && r.via === `token:${id}`).at(-1);
      assert.ok(listed, JSON.stringify(records.slice(-5)));
      assert.equal(listed.client_via, 'mcp');
      assert.equal(listed.client_declared, 'sesame-test-client 0.0.1');
    } finally {
      await s.close();
    }
    const slow = await connect(h, ['--profile', 'slow']);
    try {
      let limited: unknown;
      for (let i = 0; i < 4; i++) limited = await slow.client.callTool({ name: 'list_secrets', arguments: {} });
      assert.equal((limited as { isError?: boolean }).isError, true);
      assert.match(textOf(limited), /^rate limited: /);
      assert.match(textOf(limited), /retry after \d+ s/);
      assert.match(textOf(limited), /raise the profile’s rate_limit/);
    } finally {
      await slow.close();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('with no agent running, a call is a tool error telling the owner to start it, not a protocol error', async () => {
  const h = await mcpHome('sesame-mcp-noagent-', { box: 'projects = ["work"]\nkeys = ["*"]\n' });
  try {
    const s = await connect(h, ['--profile', 'box']);
    try {
      const r = await s.client.callTool({ name: 'list_secrets', arguments: {} });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /^agent not running: /);
      assert.match(textOf(r), /sesame agent start/);
    } finally {
      await s.close();
    }
  } finally {
    h.cleanup();
  }
});

test('a server started before the agent offers get_secret once the agent says it may reveal, and reconnects after the agent restarts', async () => {
  const h = await mcpHome('sesame-mcp-late-', { open: 'projects = ["work"]\nkeys = ["API_*"]\nreveal = true\n' });
  try {
    const s = await connect(h, ['--profile', 'open']);
    try {
      assert.ok(!(await s.client.listTools()).tools.some((t) => t.name === 'get_secret'), 'no agent yet: nothing says it may reveal');
      await startAgent(h);
      const first = await s.client.callTool({ name: 'list_secrets', arguments: {} });
      assert.notEqual(first.isError, true, textOf(first));
      await waitFor('get_secret to be offered', async () => (await s.client.listTools()).tools.some((t) => t.name === 'get_secret'));
      assert.ok(
        s.received.some((m) => m.includes('notifications/tools/list_changed')),
        'the client was told the tool list changed',
      );
      await stopAgent(h);
      await startAgent(h);
      const again = await s.client.callTool({ name: 'list_secrets', arguments: {} });
      assert.notEqual(again.isError, true, textOf(again));
    } finally {
      await s.close();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('refuses a token file that others can read, and never loads libsodium', async () => {
  const h = await mcpHome('sesame-mcp-file-', { box: 'projects = ["work"]\nkeys = ["*"]\n' });
  try {
    const loose = path.join(path.dirname(h.dir), 'loose.token');
    fs.writeFileSync(loose, 'ses_notarealtoken\n', { mode: 0o644 });
    fs.chmodSync(loose, 0o644);
    const r = await sesame(['mcp', '--token-file', loose], { env: h.env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not private to you/);
    const link = path.join(path.dirname(h.dir), 'link.token');
    fs.symlinkSync(loose, link);
    const l = await sesame(['mcp', '--token-file', link], { env: h.env });
    assert.notEqual(l.code, 0);
    assert.match(l.stderr, /symlink/);
    const c = await sesame(['mcp', 'config', '--client', 'cursor', '--token-file', loose], { env: h.env });
    assert.equal(c.code, 1, 'config refuses to point a client at a loose token file');

    await startAgent(h);
    const s = await connect(h, ['--profile', 'box']);
    try {
      await s.client.callTool({ name: 'list_secrets', arguments: {} });
      assert.ok(s.pid, 'the server’s pid');
      const maps = fs.readFileSync(`/proc/${s.pid}/maps`, 'utf8');
      assert.ok(!/sodium/i.test(maps), 'libsodium is not mapped in the MCP server');
      assert.ok(
        !/vault/.test(
          fs
            .readdirSync(`/proc/${s.pid}/fd`)
            .map((fd) => {
              try {
                return fs.readlinkSync(`/proc/${s.pid}/fd/${fd}`);
              } catch {
                return '';
              }
            })
            .join('\n'),
        ),
        'no vault file is open',
      );
    } finally {
      await s.close();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('mcp config prints mcpServers JSON and a command line that start the server, with no token in them', async () => {
  const h = await mcpHome('sesame-mcp-config-', { box: 'projects = ["work"]\nkeys = ["*"]\n' });
  try {
    const token = 'ses_neverinasnippet0123456789';
    const tokenFile = path.join(path.dirname(h.dir), 'ok.token');
    fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const env = { ...h.env, SESAME_AGENT_TOKEN: token };
    for (const client of ['claude-desktop', 'cursor', 'json']) {
      const r = await sesame(['mcp', 'config', '--client', client, '--profile', 'box'], { env });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.out) as { mcpServers: { sesame: { command: string; args: string[] } } };
      assert.ok(path.isAbsolute(doc.mcpServers.sesame.command));
      assert.deepEqual(doc.mcpServers.sesame.args, ['mcp', '--home', h.dir, '--profile', 'box']);
      assert.ok(!r.out.includes(token) && !r.stderr.includes(token));
      assert.match(r.stderr, /no token is in this snippet/);
    }
    const vs = await sesame(['mcp', 'config', '--client', 'vscode', '--token-file', tokenFile], { env });
    assert.equal(vs.code, 0, vs.stderr);
    assert.deepEqual((JSON.parse(vs.out) as { servers: { sesame: { type: string; args: string[] } } }).servers.sesame.args, ['mcp', '--home', h.dir, '--token-file', tokenFile]);
    assert.ok(!vs.out.includes(token));
    const cc = await sesame(['mcp', 'config', '--client', 'claude-code', '--profile', 'box'], { env });
    assert.equal(cc.code, 0, cc.stderr);
    assert.match(cc.out, /^claude mcp add --scope user sesame -- \S+ mcp --home \S+ --profile box\n$/);
    const bare = await sesame(['mcp', 'config', '--client', 'cursor'], { env });
    assert.equal(bare.code, 0);
    assert.match(bare.stderr, /whole vault in reach/, 'warns when the server would speak as the owner');
    const unknown = await sesame(['mcp', 'config', '--client', 'nope'], { env });
    assert.equal(unknown.code, 2);

    // The printed JSON form really starts a server that answers.
    await startAgent(h);
    const cfg = JSON.parse((await sesame(['mcp', 'config', '--client', 'json', '--profile', 'box'], { env: h.env })).out) as { mcpServers: { sesame: { command: string; args: string[] } } };
    const t = new StdioClientTransport({ command: process.execPath, args: [cfg.mcpServers.sesame.command, ...cfg.mcpServers.sesame.args], env: { PATH: process.env.PATH ?? '' }, stderr: 'pipe' });
    const c = new Client({ name: 'cfg-check', version: '1' });
    await c.connect(t);
    try {
      const r = await c.callTool({ name: 'list_secrets', arguments: {} });
      assert.notEqual(r.isError, true, textOf(r));
    } finally {
      await c.close();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('the MCP SDK is in one chunk, reached only by the mcp command’s dynamic import: no other command, nor the get fast path, loads it', () => {
  const dist = path.dirname(BIN);
  const chunks = fs.readdirSync(path.join(dist, 'chunks')).filter((f) => f.endsWith('.mjs'));
  const read = (f: string): string => fs.readFileSync(path.join(dist, 'chunks', f), 'utf8');
  const sdk = chunks.filter((f) => /(class McpServer\b|McpServer = class\b)/.test(read(f)));
  assert.equal(sdk.length, 1, 'the SDK lives in one chunk');
  const name = sdk[0]!;
  for (const f of ['sesame.cjs', 'cli.mjs', 'sesame-agent.cjs']) assert.ok(!fs.readFileSync(path.join(dist, f), 'utf8').includes('McpServer'), `${f} does not hold the SDK`);
  const staticImporters = chunks.filter((f) => new RegExp(`(from|import) "\\./${name.replace('.', '\\.')}"`).test(read(f)));
  assert.deepEqual(staticImporters, [], 'no chunk imports the SDK statically');
  const dynamicImporters = chunks.filter((f) => read(f).includes(`import("./${name}")`));
  assert.equal(dynamicImporters.length, 1);
  assert.match(read(dynamicImporters[0]!), /token-file/, 'the one dynamic importer is the mcp command');
});
