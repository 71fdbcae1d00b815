/**
 * `sesame mcp` tools that go through the agent's `exec` and `check` ops, against a real
 * agent: run_command returns masked output, the exit code and the masked-hit counts, and
 * feeds stdin; check_command says allowed or why not, running nothing; a program off the
 * profile's allowlist is a tool error naming what the owner could do; get_secret is offered
 * only to a revealing profile; and — the attacker's test — a client that drives every tool of a
 * non-revealing profile, including commands printing secrets raw, base64 and hex, receives no
 * value in any encoding in any message. Approvals: a get_secret or run_command that needs a
 * high-value key keeps the tool call open (progress notifications meanwhile) until the owner
 * approves at a real terminal; the command does not start before; denial and expiry are tool
 * errors saying what the owner could do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, sleep, startAgent, stopAgent, waitFor } from '../helpers/agent.js';
import { requireTool, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { approveOnTty, waitPending } from '../helpers/approval.js';
import { VALUES, assertNoValue, connect, mcpHome, textOf } from '../helpers/mcp.js';

const SH = fs.realpathSync('/bin/sh');

/** Running: it exists and is not a zombie waiting for a parent to reap it. */
function running(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
const PRINTENV = fs.realpathSync('/usr/bin/printenv');

test('run_command returns masked stdout and stderr, the exit code and the masked-hit counts, and feeds stdin', async () => {
  const h = await mcpHome('sesame-mcp-run-', { box: `projects = ["work"]\nkeys = ["*"]\ncommands = [${JSON.stringify(SH)}, ${JSON.stringify(PRINTENV)}]\n` });
  try {
    await startAgent(h);
    const s = await connect(h, ['--profile', 'box']);
    try {
      const r = await s.client.callTool({ name: 'run_command', arguments: { argv: ['printenv', 'API_X'] } });
      assert.notEqual(r.isError, true, textOf(r));
      const text = textOf(r);
      assert.match(text, /^exit code 0$/m);
      assert.match(text, /masked: API_X ×1/);
      assert.match(text, /stdout:\n<sesame:API_X>\n/);
      const e = await s.client.callTool({ name: 'run_command', arguments: { argv: ['sh', '-c', 'printf "%s" "$DB_URL" >&2; cat; exit 3'], stdin: 'from the model\n' } });
      const et = textOf(e);
      assert.match(et, /^exit code 3$/m);
      assert.match(et, /stderr:\n<sesame:DB_URL>/);
      assert.match(et, /stdout:\nfrom the model\n/, 'stdin reached the command');
      assertNoValue(s.received.join('\n') + s.stderr());
      // Audited by the agent as any caller on that door (via the profile's socket), with the MCP client's name as it declared it beside it (docs/mcp.md).
      const audit = await sesame(['audit', 'show', '--via', 'profile:box', '--json'], { env: h.env });
      assert.equal(audit.code, 0, audit.stderr);
      const records = JSON.parse(audit.out) as Array<{ event: string; via: string; command?: string; outcome: string; client_via?: string; client_declared?: string }>;
      assert.ok(
        records.some((r) => r.event.startsWith('exec') && r.command === PRINTENV && r.outcome === 'ok'),
        'the exec is recorded with the program it ran',
      );
      const execs = records.filter((r) => r.event.startsWith('exec'));
      assert.ok(execs.length >= 2, JSON.stringify(records));
      for (const r of execs) {
        assert.equal(r.via, 'profile:box', 'via is still the door the request came through');
        assert.equal(r.client_via, 'mcp', JSON.stringify(r));
        assert.equal(r.client_declared, 'sesame-test-client 0.0.1', 'the client’s name and version as it declared them');
      }
      assertNoValue(audit.out);
    } finally {
      await s.close();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('run_command caps each stream and says how much was cut', async () => {
  const h = await mcpHome('sesame-mcp-cap-', { box: `projects = ["work"]\nkeys = ["*"]\ncommands = [${JSON.stringify(SH)}]\n` });
  try {
    await startAgent(h);
    const s = await connect(h, ['--profile', 'box']);
    try {
      const r = await s.client.callTool({ name: 'run_command', arguments: { argv: ['sh', '-c', 'head -c 100000 /dev/zero | tr "\\0" x; echo END'] } });
      const text = textOf(r);
      // 100000 x's and "END\n" = 100004 bytes, minus the 24576 + 8192 kept.
      assert.ok(/stdout was cut: 67236 bytes dropped from the middle \(kept the first 24576 and last 8192 bytes\)/.test(text), text.slice(0, 300));
      assert.ok(/x{8000}END\n/.test(text), 'the tail is kept');
      assert.ok(text.length < 34_000, 'the model gets the capped bytes, not the stream');
    } finally {
      await s.close();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('cancelling a run_command call kills the command’s process group', async () => {
  const h = await mcpHome('sesame-mcp-cancel-', { box: `projects = ["work"]\nkeys = ["*"]\ncommands = [${JSON.stringify(SH)}]\n` });
  try {
    await startAgent(h);
    const s = await connect(h, ['--profile', 'box']);
    try {
      const pidFile = path.join(path.dirname(h.dir), 'child.pid');
      const ac = new AbortController();
      const call = s.client.callTool({ name: 'run_command', arguments: { argv: ['sh', '-c', `sleep 300 & echo $! > ${pidFile}; wait`] } }, undefined, { signal: ac.signal });
      await waitFor('the command to start', () => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').endsWith('\n'), 10_000);
      const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
      assert.ok(running(pid));
      ac.abort();
      await assert.rejects(call);
      await waitFor('the grandchild to be killed', () => !running(pid), 10_000);
    } finally {
      await s.close();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('check_command answers allowed with the program and key names, or not allowed with the reason; a refused run_command is a tool error', async () => {
  const h = await mcpHome('sesame-mcp-check-', { box: `projects = ["work"]\nkeys = ["API_*"]\ncommands = [${JSON.stringify(PRINTENV)}]\n` });
  try {
    await startAgent(h);
    const s = await connect(h, ['--profile', 'box']);
    try {
      const ok = await s.client.callTool({ name: 'check_command', arguments: { argv: ['printenv'] } });
      assert.notEqual(ok.isError, true, textOf(ok));
      assert.match(textOf(ok), new RegExp(`^allowed: ${PRINTENV} would run with the secrets API_X injected`));
      const no = await s.client.callTool({ name: 'check_command', arguments: { argv: ['sh', '-c', 'id'] } });
      assert.match(textOf(no), /^not allowed \(not_allowed_command\)/);
      assert.match(textOf(no), /add the program’s absolute path to the profile’s commands/);
      const marker = path.join(path.dirname(h.dir), 'ran');
      const run = await s.client.callTool({ name: 'run_command', arguments: { argv: ['sh', '-c', `touch ${marker}`] } });
      assert.equal(run.isError, true);
      assert.match(textOf(run), /^denied: /);
      assert.match(textOf(run), /commands/);
      assert.ok(!fs.existsSync(marker), 'nothing ran');
    } finally {
      await s.close();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('get_secret is offered only to a profile that may reveal, returns the value there, and a key out of scope is "not found"', async () => {
  const h = await mcpHome('sesame-mcp-reveal-', {
    open: 'projects = ["work"]\nkeys = ["API_*"]\nreveal = true\n',
    shut: 'projects = ["work"]\nkeys = ["API_*"]\n',
  });
  try {
    await startAgent(h);
    const shut = await connect(h, ['--profile', 'shut']);
    try {
      const names = (await shut.client.listTools()).tools.map((t) => t.name);
      assert.ok(!names.includes('get_secret'), 'no get_secret without reveal');
      const call = await shut.client.callTool({ name: 'get_secret', arguments: { key: 'API_X' } }).catch((e: unknown) => ({ isError: true, content: [{ type: 'text', text: String(e) }] }));
      assert.equal(call.isError, true, 'calling an unoffered get_secret is refused');
      assertNoValue(shut.received.join('\n'));
    } finally {
      await shut.close();
    }
    const open = await connect(h, ['--profile', 'open']);
    try {
      const { tools } = await open.client.listTools();
      const get = tools.find((t) => t.name === 'get_secret');
      assert.ok(get, 'get_secret offered');
      assert.deepEqual(get.inputSchema.required, ['key']);
      const r = await open.client.callTool({ name: 'get_secret', arguments: { key: 'API_X' } });
      assert.notEqual(r.isError, true, textOf(r));
      assert.equal(textOf(r), VALUES.API_X);
      const out = await open.client.callTool({ name: 'get_secret', arguments: { key: 'DB_URL' } });
      assert.equal(out.isError, true);
      assert.match(textOf(out), /^not found: /);
      assertNoValue(open.received.join('\n'), [VALUES.DB_URL!, VALUES.A_KEY!, VALUES.B_KEY!]);
    } finally {
      await open.close();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a client driving every tool of a non-revealing profile, with commands that print secrets raw, base64 and hex, receives no value in any message', async () => {
  const h = await mcpHome('sesame-mcp-scan-', { box: `projects = ["work", "default"]\nkeys = ["*"]\ncommands = [${JSON.stringify(SH)}]\n` });
  try {
    await startAgent(h);
    const s = await connect(h, ['--profile', 'box']);
    try {
      await s.client.listTools();
      await s.client.callTool({ name: 'list_secrets', arguments: {} });
      for (const p of ['work', 'default']) {
        await s.client.callTool({ name: 'check_command', arguments: { argv: ['sh'], project: p } });
        for (const cmd of ['env', 'env | base64 -w0', 'env | od -An -tx1 | tr -d " \\n"', 'printenv | xxd -p 2>/dev/null || true', 'env >&2']) {
          const r = await s.client.callTool({ name: 'run_command', arguments: { argv: ['sh', '-c', cmd], project: p } });
          assert.notEqual(r.isError, true, textOf(r));
        }
      }
      await s.client.callTool({ name: 'get_secret', arguments: { key: 'API_X' } }).catch(() => undefined);
      const seen = s.received.join('\n') + s.stderr();
      assert.match(seen, /<sesame:API_X>/, 'the scan looked at real command output');
      assertNoValue(seen);
    } finally {
      await s.close();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

/** A high-value key of project work, for the approval tests (no reply may carry it but get_secret's, once approved). */
const HV = 'mcp-high-value-Wq8Zr3Tn5Lp';

/** An mcpHome with API_HV (high-value) in project work, `config` in config.toml. */
async function approvalMcpHome(prefix: string, profiles: Record<string, string>, config: string): Promise<TestHome> {
  const h = await mcpHome(prefix, profiles);
  await setSecret(h, 'API_HV', HV, ['--project', 'work', '--high-value']);
  fs.writeFileSync(path.join(h.dir, 'config.toml'), config, { mode: 0o600 });
  return h;
}

test('an approval the owner grants while get_secret waits ends the call with the value, and the client gets progress meanwhile', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await approvalMcpHome('sesame-mcp-apv-', { open: 'projects = ["work"]\nkeys = ["API_*"]\nreveal = true\n' }, 'approval_timeout = "30s"\n');
  try {
    await startAgent(h);
    const s = await connect(h, ['--profile', 'open']);
    try {
      const progress: Array<{ progress: number; message?: string }> = [];
      const call = s.client.callTool({ name: 'get_secret', arguments: { key: 'API_HV', project: 'work' } }, undefined, {
        timeout: 60_000,
        onprogress: (p) => {
          progress.push(p);
        },
      });
      call.catch(() => {}); // awaited below; a failure before that must not surface as an unhandled rejection
      const [p] = await waitPending(h);
      assert.deepEqual([p!.op, p!.project, p!.keys, p!.caller.listener.kind, p!.caller.listener.name], ['get', 'work', ['API_HV'], 'profile', 'open']);
      assert.equal(p!.caller.pid, s.pid, 'the owner is shown the MCP server as the caller');
      await waitFor('the progress notification', () => Promise.resolve(progress.length > 0));
      assert.match(progress[0]!.message ?? '', /^waiting for the owner's approval \(up to 30 s\)$/);
      const a = await approveOnTty(h, [p!.id]);
      assert.equal(a.status, 0, a.output);
      const r = await call;
      assert.notEqual(r.isError, true, textOf(r));
      assert.equal(textOf(r), HV);
      // --once: the next call waits again; unanswered, the owner's denial is a tool error saying so.
      const again = s.client.callTool({ name: 'get_secret', arguments: { key: 'API_HV', project: 'work' } }, undefined, { timeout: 60_000 });
      const [q] = await waitPending(h);
      assert.notEqual(q!.id, p!.id);
      await sesame(['approve', q!.id, '--deny'], { env: h.env });
      const d = await again;
      assert.equal(d.isError, true);
      assert.match(textOf(d), /^approval refused: refused: the owner denied request [0-9a-f]{8}/);
      assert.match(textOf(d), /what the owner could do: the owner refused this request/);
      assertNoValue(d.content ? JSON.stringify(d.content) : '', [HV]);
    } finally {
      await s.close();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a run_command whose environment holds a high-value key waits for the owner, runs only once approved, and an unanswered one is an approval_timeout tool error', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await approvalMcpHome(
    'sesame-mcp-apx-',
    {
      box: `projects = ["work"]\nkeys = ["API_*"]\ncommands = [${JSON.stringify(SH)}]\n`,
      quick: `projects = ["work"]\nkeys = ["API_*"]\ncommands = [${JSON.stringify(SH)}]\napproval_timeout = "2s"\n`,
    },
    'approval_timeout = "30s"\n',
  );
  const marker = path.join(h.dir, 'ran');
  const argv = ['sh', '-c', `: > '${marker}'; printf '%s\\n' "$API_HV"`];
  try {
    await startAgent(h);
    const s = await connect(h, ['--profile', 'box']);
    try {
      const progress: string[] = [];
      const call = s.client.callTool({ name: 'run_command', arguments: { argv, project: 'work' } }, undefined, {
        timeout: 60_000,
        onprogress: (p) => {
          progress.push(p.message ?? '');
        },
      });
      call.catch(() => {}); // awaited below; a failure before that must not surface as an unhandled rejection
      const [p] = await waitPending(h);
      assert.deepEqual([p!.op, p!.keys, p!.caller.listener.name], ['exec', ['API_HV'], 'box']);
      assert.equal((p as unknown as { command: string }).command, SH);
      await sleep(500);
      assert.ok(!fs.existsSync(marker), 'the command ran before the owner approved');
      const a = await approveOnTty(h, [p!.id]);
      assert.equal(a.status, 0, a.output);
      const r = await call;
      assert.notEqual(r.isError, true, textOf(r));
      assert.match(textOf(r), /^exit code 0\nmasked: API_HV ×1\n/);
      assert.match(textOf(r), /stdout:\n<sesame:API_HV>\n/);
      assert.ok(fs.existsSync(marker), 'the command ran once approved');
      assert.match(progress.join('\n'), /waiting for the owner's approval \(up to 30 s\)/);
      assertNoValue(s.received.join('\n') + s.stderr(), [HV, ...Object.values(VALUES)]);
    } finally {
      await s.close();
    }
    fs.rmSync(marker);
    const quick = await connect(h, ['--profile', 'quick']);
    try {
      const r = await quick.client.callTool({ name: 'run_command', arguments: { argv, project: 'work' } }, undefined, { timeout: 30_000 });
      assert.equal(r.isError, true, textOf(r));
      assert.match(textOf(r), /^approval timed out: refused: the owner did not approve request [0-9a-f]{8} within 2 s/);
      assert.match(textOf(r), /what the owner could do: the owner did not answer in time/);
      assert.ok(!fs.existsSync(marker), 'a run_command refused for want of approval never ran');
      assertNoValue(quick.received.join('\n') + quick.stderr(), [HV, ...Object.values(VALUES)]);
    } finally {
      await quick.close();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
