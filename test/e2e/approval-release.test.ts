/**
 * Approvals of high-value reads (issue 11) against a real agent and the built CLI: a
 * delegated read waits (a `pending` frame), the owner approves at a real terminal, grants
 * last as long as they say, denial and expiry refuse with their reasons (exit 8), the owner's
 * own reads are held only with approve_owner, and no approve output ever shows a value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireTool, sesame } from '../helpers/cli.js';
import { exchange, sleep, sockOf, startAgent, stopAgent } from '../helpers/agent.js';
import { HV_VALUE, approvalHome, approveOnTty, leaksValue, pendingList, readAs, tokenEnv, waitPending } from '../helpers/approval.js';

test('a token read of a high-value key waits, is released once on approve ID, and a second read waits again', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const { h, token, id8 } = await approvalHome('sesame-apv-once-', 'approval_timeout = "3s"\n');
  try {
    await startAgent(h);
    // A key that is not high-value is served at once.
    const low = await sesame(['get', 'LOW'], { env: tokenEnv(h, token) });
    assert.equal(low.out, 'low-value\n', low.stderr);

    // On the wire: a pending frame with approval_id and expires_in_s, before any final frame.
    const frames = await exchange(sockOf(h), [`${JSON.stringify({ v: 2, id: 1, op: 'get', project: 'default', key: 'HV', token })}\n`], 1);
    assert.equal(frames[0]?.frame, 'pending', JSON.stringify(frames));
    assert.equal(frames[0]?.reason, 'approval');
    const detail = frames[0]?.detail as { approval_id: string; expires_in_s: number };
    assert.match(detail.approval_id, /^[0-9a-f]{8}$/);
    assert.equal(detail.expires_in_s, 3);
    // That client left: its request is withdrawn, not left for the owner to approve.
    await sleep(200);
    assert.equal((await pendingList(h)).length, 0);

    const first = readAs(tokenEnv(h, token));
    const [p] = await waitPending(h);
    assert.ok(p);
    assert.deepEqual([p.op, p.project, p.keys, p.caller.token, p.caller.listener.kind], ['get', 'default', ['HV'], id8, 'owner']);
    assert.equal(p.caller.exe, process.execPath);
    assert.ok(p.caller.chain.length >= 1, 'the parent chain is shown');
    const a = await approveOnTty(h, [p.id]);
    assert.equal(a.status, 0, a.output);
    assert.match(a.output, new RegExp(`approved ${p.id} once`));
    const r1 = await first;
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r1.out, `${HV_VALUE}\n`);
    assert.match(r1.stderr, new RegExp(`waiting for the owner's approval of request ${p.id}`));

    // --once left nothing behind: the next read waits again (and, unanswered, expires).
    const second = await readAs(tokenEnv(h, token));
    assert.equal(second.code, 8, second.stderr);
    assert.match(second.stderr, /did not approve/);
    assert.equal(second.out, '');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('approve --for 2s releases the same caller for two seconds and not after', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const { h, token } = await approvalHome('sesame-apv-for-', 'approval_timeout = "2s"\n');
  try {
    await startAgent(h);
    const first = readAs(tokenEnv(h, token));
    const [p] = await waitPending(h);
    const a = await approveOnTty(h, [p!.id, '--for', '2s']);
    assert.equal(a.status, 0, a.output);
    assert.match(a.output, /grant [0-9a-f]{8} until /);
    const t0 = Date.now();
    assert.equal((await first).code, 0);
    // Within the two seconds: served without waiting.
    const again = await readAs(tokenEnv(h, token));
    assert.ok(Date.now() - t0 < 2000, 'the check ran inside the grant');
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!again.stderr.includes('waiting'), again.stderr);
    await sleep(Math.max(0, 2300 - (Date.now() - t0)));
    // After: it waits, and expires with approval_timeout.
    const late = await sesame(['get', 'HV', '--json'], { env: tokenEnv(h, token) });
    assert.equal(late.code, 8, late.stderr);
    assert.match(late.stderr + late.out, /approval_timeout|did not approve/);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('--deny refuses with approval_denied, and an unanswered request expires with approval_timeout (exit 8 both)', async () => {
  const { h, token } = await approvalHome('sesame-apv-deny-', 'approval_timeout = "2s"\n');
  try {
    await startAgent(h);
    const pending = readAs(tokenEnv(h, token));
    const [p] = await waitPending(h);
    const d = await sesame(['approve', p!.id, '--deny'], { env: h.env });
    assert.equal(d.code, 0, d.stderr);
    const r = await pending;
    assert.equal(r.code, 8);
    assert.match(r.stderr, /owner denied/);

    // On the wire, the reasons are exact.
    const [, denied] = await (async () => {
      const run = exchange(sockOf(h), [`${JSON.stringify({ v: 2, id: 7, op: 'get', project: 'default', key: 'HV', token })}\n`], 2, { timeoutMs: 8000 });
      const [q] = await waitPending(h);
      await sesame(['approve', q!.id, '--deny'], { env: h.env });
      return run;
    })();
    assert.deepEqual((denied?.error as { detail: unknown }).detail, { reason: 'approval_denied' });
    const expired = await exchange(sockOf(h), [`${JSON.stringify({ v: 2, id: 8, op: 'get', project: 'default', key: 'HV', token })}\n`], 2, { timeoutMs: 8000 });
    assert.equal(expired[1]?.frame, 'error', JSON.stringify(expired));
    assert.equal((expired[1]?.error as { code: string }).code, 'DENIED');
    assert.deepEqual((expired[1]?.error as { detail: unknown }).detail, { reason: 'approval_timeout' });
    // The audit log has the request, the denial and the expiry; never the value.
    const audit = fs.readFileSync(path.join(h.dir, 'audit.jsonl'), 'utf8');
    for (const ev of ['approval_request', 'approval_deny', 'approval_expire']) assert.ok(audit.includes(`"event":"${ev}"`), ev);
    assert.ok(!leaksValue(audit) && !audit.includes(token));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test("the owner's own read is not held, and is held with approve_owner = true", async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const { h } = await approvalHome('sesame-apv-owner-');
  try {
    await startAgent(h);
    const own = await sesame(['get', 'HV'], { env: h.env });
    assert.equal(own.out, `${HV_VALUE}\n`);
    assert.ok(!own.stderr.includes('waiting'));
    await stopAgent(h);
    fs.writeFileSync(path.join(h.dir, 'config.toml'), 'approve_owner = true\napproval_timeout = "20s"\n', { mode: 0o600 });
    await startAgent(h);
    const held = sesame(['get', 'HV'], { env: h.env });
    const [p] = await waitPending(h);
    assert.equal(p!.caller.token, null);
    assert.equal(p!.caller.listener.kind, 'owner');
    const a = await approveOnTty(h, [p!.id]);
    assert.equal(a.status, 0, a.output);
    const r = await held;
    assert.equal(r.out, `${HV_VALUE}\n`, r.stderr);
    assert.match(r.stderr, /waiting for the owner's approval/);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('list shows high-value, and set --no-high-value clears it (an update without either flag keeps the mark)', async () => {
  const { h } = await approvalHome('sesame-apv-list-');
  try {
    const l = await sesame(['list'], { env: h.env });
    assert.match(l.out, /^HV .* high-value$/m);
    assert.doesNotMatch(l.out, /^LOW .*high-value/m);
    const keep = await sesame(['set', 'HV', '--raw'], { env: h.env, input: 'v2' });
    assert.equal(keep.code, 0, keep.stderr);
    const j1 = JSON.parse((await sesame(['list', '--json'], { env: h.env })).out) as { keys: Array<{ key: string; high_value: boolean }> };
    assert.equal(j1.keys.find((k) => k.key === 'HV')?.high_value, true);
    const clear = await sesame(['set', 'HV', '--no-high-value', '--raw'], { env: h.env, input: 'v3' });
    assert.equal(clear.code, 0, clear.stderr);
    const j2 = JSON.parse((await sesame(['list', '--json'], { env: h.env })).out) as { keys: Array<{ key: string; high_value: boolean }> };
    assert.equal(j2.keys.find((k) => k.key === 'HV')?.high_value, false);
    assert.doesNotMatch((await sesame(['list'], { env: h.env })).out, /high-value/);
    const both = await sesame(['set', 'HV', '--high-value', '--no-high-value'], { env: h.env, input: 'x' });
    assert.equal(both.code, 2);
  } finally {
    h.cleanup();
  }
});

test("nothing about a high-value key's value appears in approve's output (list, --json, --list-grants, the approval itself)", async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const { h, token } = await approvalHome('sesame-apv-noleak-');
  try {
    await startAgent(h);
    const read = readAs(tokenEnv(h, token));
    const [p] = await waitPending(h);
    const outputs: string[] = [];
    for (const args of [['approve'], ['approve', '--json'], ['approve', '--list-grants'], ['approve', '--list-grants', '--json']]) {
      const r = await sesame(args, { env: h.env });
      assert.equal(r.code, 0, r.stderr);
      outputs.push(r.out, r.stderr);
    }
    const a = await approveOnTty(h, [p!.id, '--session']);
    assert.equal(a.status, 0, a.output);
    outputs.push(a.output);
    assert.equal((await read).out, `${HV_VALUE}\n`);
    const g = await sesame(['approve', '--list-grants'], { env: h.env });
    assert.match(g.out, /grant [0-9a-f]{8}: get default HV +until the agent stops/);
    outputs.push(g.out, g.stderr);
    for (const o of outputs) assert.ok(!leaksValue(o), `a value leaked into: ${o}`);
    assert.ok(outputs.join('').includes('HV'), 'the key name is shown');
    // The grant can be revoked: the next read waits again.
    const grant = /grant ([0-9a-f]{8})/.exec(g.out)![1]!;
    assert.equal((await sesame(['approve', '--revoke', grant], { env: h.env })).code, 0);
    const after = readAs(tokenEnv(h, token));
    await waitPending(h);
    await sesame(['approve', (await pendingList(h))[0]!.id, '--deny'], { env: h.env });
    assert.equal((await after).code, 8);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test("a profile socket's read waits as long as the profile's approval_timeout says; the owner's --session token is not held", async () => {
  const { h } = await approvalHome('sesame-apv-profile-', 'approval_timeout = "30s"\n');
  fs.mkdirSync(path.join(h.dir, 'profiles'), { mode: 0o700 });
  fs.writeFileSync(path.join(h.dir, 'profiles', 'ci.toml'), 'projects = ["default"]\nkeys = ["*"]\nreveal = true\napproval_timeout = "2s"\n', { mode: 0o600 });
  try {
    const s = await sesame(['agent', 'start', '--session'], { env: h.env });
    assert.equal(s.code, 0, s.stderr);
    const sessionToken = /SESAME_AGENT_TOKEN=([^;]+);/.exec(s.out)?.[1];
    assert.ok(sessionToken);
    const sock = path.join(h.dir, 'sockets', 'ci.sock');
    const frames = await exchange(sock, [`${JSON.stringify({ v: 2, id: 1, op: 'get', project: 'default', key: 'HV' })}\n`], 2, { timeoutMs: 8000 });
    assert.equal(frames[0]?.frame, 'pending', JSON.stringify(frames));
    assert.equal((frames[0]?.detail as { expires_in_s: number }).expires_in_s, 2, "the profile's approval_timeout");
    assert.deepEqual((frames[1]?.error as { detail: unknown }).detail, { reason: 'approval_timeout' });
    // The session token is the owner's own shell: its read is served at once.
    const own = await exchange(sockOf(h), [`${JSON.stringify({ v: 2, id: 2, op: 'get', project: 'default', key: 'HV', token: sessionToken })}\n`], 1);
    assert.equal(own[0]?.frame, 'ok', JSON.stringify(own));
    await sesame(['agent', 'stop'], { env: { ...h.env, SESAME_AGENT_TOKEN: sessionToken } });
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
