/**
 * Approvals of execs (issues 10 and 11) against a real agent and the built CLI: an exec whose
 * injected keys include a high-value key, asked for by a delegated caller (a profile socket,
 * a token with op exec), waits for the owner; the command does not start before the owner
 * approves at a real terminal (it writes a marker file: none exists while it waits); expiry
 * refuses it with approval_timeout (exit 8) and it never runs; `sesame approve` shows the
 * program the agent resolved and the argv hash, never argv or a value; a `--for` grant covers
 * a later exec of the same program and keys, and not another program. `sesame run` on a
 * terminal says it waits, and Ctrl-C (or SIGINT) while it waits withdraws the request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, requireTool, sesame, type TestHome } from '../helpers/cli.js';
import { sleep, startAgent, stopAgent, waitFor } from '../helpers/agent.js';
import { HV_VALUE, approvalHome, approveOnTty, leaksValue, onTty, pendingList, waitPending } from '../helpers/approval.js';
import { once, ownerSock, profileSock, writeProfiles } from '../helpers/exec-frames.js';
import { argvHash } from '../../src/core/audit/record.js';

const SH = fs.realpathSync('/bin/sh');
const ENV = fs.realpathSync('/usr/bin/env');
/** A non-revealing profile that may run sh and env with every key of project default. */
const BOX = `projects = ["default"]\nkeys = ["*"]\ncommands = ["/bin/sh", "/usr/bin/env"]\n`;

/** A script that leaves a marker (proof that it ran) and prints the high-value key. */
const script = (marker: string): string => `: > '${marker}'; printf 'HV=%s\\n' "$HV"`;

/** The environment of a delegated client on profile `box`'s socket, with no passphrase source. */
function boxEnv(h: TestHome): NodeJS.ProcessEnv {
  const { SESAME_PASSPHRASE_FILE: _pf, ...rest } = h.env;
  return { ...rest, SESAME_AGENT_SOCK: profileSock(h, 'box') };
}

/** `sesame run -- ARGV` as the profile's client (its keys HV and LOW in the environment), not awaited. */
function runAs(h: TestHome, argv: string[]): ReturnType<typeof sesame> {
  return sesame(['run', '--', ...argv], { env: boxEnv(h), timeoutMs: 90_000 });
}

/** An approvalHome with profile box, and `exec`: a token whose scope is exec of HV only (made before the agent starts, which loads it). */
async function boxHome(prefix: string, timeout: string): Promise<{ h: TestHome; token: string; exec: { token: string; id8: string } }> {
  const r = await approvalHome(prefix, `approval_timeout = "${timeout}"\n`);
  writeProfiles(r.h, { box: BOX });
  const tok = await sesame(['token', 'new', '--ops', 'exec', '--keys', 'HV'], { env: r.h.env });
  assert.equal(tok.code, 0, tok.stderr);
  const id8 = /token ([0-9a-f]{8}) made/.exec(tok.stderr)?.[1];
  assert.ok(id8, tok.stderr);
  return { h: r.h, token: r.token, exec: { token: tok.out.trimEnd(), id8 } };
}

test('an exec through a profile that injects a high-value key waits for the owner, does not start before sesame approve ID, then runs masked', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const { h } = await boxHome('sesame-apx-run-', '30s');
  const marker = path.join(h.dir, 'ran');
  try {
    await startAgent(h);
    const argv = ['sh', '-c', script(marker)];
    const running = runAs(h, argv);
    const [p] = await waitPending(h);
    assert.ok(p);
    assert.deepEqual([p.op, p.project, p.keys, p.caller.listener.kind, p.caller.listener.name], ['exec', 'default', ['HV'], 'profile', 'box']);
    const shown = p as unknown as { command: string | null; argv_hash: string | null };
    assert.equal(shown.command, SH, 'the owner is shown the program the agent resolved');
    assert.equal(shown.argv_hash, argvHash(argv), 'and the hash of its argv, as the audit record has it');
    // The child has not started: the marker does not exist while the request waits.
    await sleep(700);
    assert.ok(!fs.existsSync(marker), 'the command ran before the owner approved');
    const listing = await sesame(['approve'], { env: h.env });
    assert.equal(listing.code, 0, listing.stderr);
    assert.ok(listing.out.includes(`request ${p.id}: exec default HV`), listing.out);
    assert.ok(listing.out.includes(`runs:  ${SH} (argv sha256 ${argvHash(argv)})`), listing.out);
    assert.ok(!listing.out.includes(marker), 'argv (the caller’s own text) is not shown');
    assert.ok(!leaksValue(listing.out + listing.stderr));

    const a = await approveOnTty(h, [p.id]);
    assert.equal(a.status, 0, a.output);
    assert.match(a.output, new RegExp(`approved ${p.id} once`));
    assert.ok(!leaksValue(a.output));
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`waiting for the owner's approval of request ${p.id} \\(up to 30 s\\): the owner runs \`sesame approve ${p.id}\``));
    assert.equal(r.out, 'HV=<sesame:HV>\n', 'the command ran with the value, and its output is masked');
    assert.ok(!leaksValue(r.out + r.stderr));
    assert.ok(fs.existsSync(marker), 'the command ran once approved');
    // --once left nothing behind.
    assert.equal((await pendingList(h)).length, 0);
    const audit = fs.readFileSync(path.join(h.dir, 'audit.jsonl'), 'utf8');
    assert.ok(audit.includes('"event":"approval_request"') && audit.includes('"event":"approval_grant"'));
    assert.ok(!leaksValue(audit) && !audit.includes(marker), 'the audit log has neither the value nor argv');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('an unanswered exec expires with approval_timeout (exit 8) and the command never runs', async () => {
  const { h, token, exec } = await boxHome('sesame-apx-exp-', '2s');
  const marker = path.join(h.dir, 'ran');
  try {
    await startAgent(h);
    const r = await runAs(h, ['sh', '-c', script(marker)]);
    assert.equal(r.code, 8, r.stderr);
    assert.match(r.stderr, /waiting for the owner's approval of request [0-9a-f]{8} \(up to 2 s\)/);
    assert.match(r.stderr, /did not approve request [0-9a-f]{8} within 2 s/);
    assert.equal(r.out, '');
    // On the wire, for a token whose scope is exec (owner socket): pending, then the refusal with its reason.
    const argv = ['sh', '-c', script(marker)];
    const w = await once(ownerSock(h), { id: 5, op: 'exec', project: 'default', argv, cwd: '/', token: exec.token }, 10_000);
    assert.equal(w.frames[0]?.frame, 'pending', JSON.stringify(w.frames));
    assert.equal(w.frames[0]?.reason, 'approval');
    assert.equal(w.last.frame, 'error', JSON.stringify(w.last));
    assert.equal((w.last.error as { code: string }).code, 'DENIED');
    assert.deepEqual((w.last.error as { detail: unknown }).detail, { reason: 'approval_timeout' });
    await sleep(300);
    assert.ok(!fs.existsSync(marker), 'an exec refused for want of approval never ran');
    // The home's unrestricted token, delegated too, execs with only LOW (not high-value): no wait, it runs.
    const w2 = await once(ownerSock(h), { id: 6, op: 'exec', project: 'default', argv, cwd: '/', only: ['LOW'], token }, 10_000);
    assert.equal(w2.last.frame, 'exit', 'an exec injecting no high-value key does not wait');
    assert.ok(!w2.frames.some((f) => f.frame === 'pending'));
    assert.ok(fs.existsSync(marker));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a token with op exec: its exec of a high-value key waits, runs once the owner approves, and the child starts only then', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const { h, exec } = await boxHome('sesame-apx-tok-', '30s');
  const marker = path.join(h.dir, 'ran');
  try {
    await startAgent(h);
    const argv = ['sh', '-c', script(marker)];
    const w = once(ownerSock(h), { id: 9, op: 'exec', project: 'default', argv, cwd: '/', token: exec.token }, 30_000);
    const [p] = await waitPending(h);
    assert.deepEqual([p!.op, p!.keys, p!.caller.token, p!.caller.listener.kind], ['exec', ['HV'], exec.id8, 'owner']);
    await sleep(500);
    assert.ok(!fs.existsSync(marker), 'the command ran before the owner approved');
    const a = await approveOnTty(h, [p!.id]);
    assert.equal(a.status, 0, a.output);
    const r = await w;
    assert.equal(r.frames[0]?.frame, 'pending');
    assert.equal(r.last.frame, 'exit', JSON.stringify(r.last));
    assert.equal(r.last.code, 0);
    assert.equal(r.out.toString(), 'HV=<sesame:HV>\n');
    assert.ok(fs.existsSync(marker));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('approve --for covers a later exec of the same program and keys, and not another program', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const { h } = await boxHome('sesame-apx-for-', '30s');
  const marker = path.join(h.dir, 'ran');
  try {
    await startAgent(h);
    const first = runAs(h, ['sh', '-c', script(marker)]);
    const [p] = await waitPending(h);
    const a = await approveOnTty(h, [p!.id, '--for', '10m']);
    assert.equal(a.status, 0, a.output);
    assert.match(a.output, /grant [0-9a-f]{8} until /);
    assert.equal((await first).code, 0);
    const grants = await sesame(['approve', '--list-grants'], { env: h.env });
    assert.ok(grants.out.includes(`exec default HV (runs ${SH})`), grants.out);
    const gj = JSON.parse((await sesame(['approve', '--list-grants', '--json'], { env: h.env })).out) as { grants: Array<{ command: string | null; op: string }> };
    assert.deepEqual(
      gj.grants.map((g) => [g.op, g.command]),
      [['exec', SH]],
    );

    // The same program, other arguments, the same keys: covered, no wait.
    const again = await runAs(h, ['sh', '-c', 'printf "%s\\n" "$HV" | wc -c']);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!again.stderr.includes('waiting'), again.stderr);
    assert.equal(again.out.trim(), String(HV_VALUE.length + 1));

    // Another program with the same keys waits again.
    const other = runAs(h, ['env']);
    const [q] = await waitPending(h);
    assert.equal((q as unknown as { command: string }).command, ENV);
    await sesame(['approve', q!.id, '--deny'], { env: h.env });
    const o = await other;
    assert.equal(o.code, 8, o.stderr);
    assert.match(o.stderr, /owner denied/);
    assert.ok(!leaksValue(o.out + o.stderr));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('sesame run on a terminal through a profile prints the waiting line and runs once approved; Ctrl-C while it waits withdraws the request (exit 130) and nothing runs', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const { h } = await boxHome('sesame-apx-tty-', '30s');
  const marker = path.join(h.dir, 'ran');
  const argv = [process.execPath, BIN, 'run', '--', 'sh', '-c', script(marker)];
  try {
    await startAgent(h);
    const term = onTty(boxEnv(h), argv, [{ expect: "waiting for the owner's approval" }]);
    const [p] = await waitPending(h);
    assert.ok(!fs.existsSync(marker));
    const a = await approveOnTty(h, [p!.id]);
    assert.equal(a.status, 0, a.output);
    const r = await term;
    assert.equal(r.status, 0, r.output);
    assert.ok(r.output.includes(`waiting for the owner's approval of request ${p!.id} (up to 30 s)`), r.output);
    assert.match(r.output, /HV=<sesame:HV>/);
    assert.ok(!leaksValue(r.output));
    assert.ok(fs.existsSync(marker));

    fs.rmSync(marker);
    const c = await onTty(boxEnv(h), argv, [{ expect: "waiting for the owner's approval" }, { send: '\x03' }]);
    assert.equal(c.status, 130, c.output);
    assert.match(c.output, /interrupted while waiting for the owner's approval; the request is withdrawn/);
    await waitFor('the request withdrawn', async () => (await pendingList(h)).length === 0);
    await sleep(300);
    assert.ok(!fs.existsSync(marker), 'a command whose approval was abandoned never ran');
    const audit = fs.readFileSync(path.join(h.dir, 'audit.jsonl'), 'utf8');
    assert.ok(audit.includes('"event":"approval_withdrawn"'), 'the withdrawal is audited');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('SIGINT to sesame run while its exec waits for approval withdraws the request instead of waiting for a child that never started', async () => {
  const { h } = await boxHome('sesame-apx-int-', '30s');
  const marker = path.join(h.dir, 'ran');
  try {
    await startAgent(h);
    const child = spawn(process.execPath, [BIN, 'run', '--', 'sh', '-c', script(marker)], { env: boxEnv(h), stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const exited = new Promise<number | null>((res) => {
      child.on('exit', (code) => {
        res(code);
      });
    });
    await waitFor('the waiting line', () => err.includes('waiting for the owner'), 15_000);
    child.kill('SIGINT');
    assert.equal(await exited, 130, err);
    await waitFor('the request withdrawn', async () => (await pendingList(h)).length === 0);
    assert.ok(!fs.existsSync(marker));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
