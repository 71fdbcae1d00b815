/**
 * The attacker's tests for approvals (issue 11): a delegated caller — often an AI agent
 * running as the owner's uid — cannot approve itself (no passphrase on stdin or in the
 * environment, no token connection, no profile socket, no forged or replayed proof, no PIN
 * file of its own making); a grant covers only the executable it was shown for; approval_max
 * caps every `--for`; a caller cannot queue a second prompt for the same keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN, PASSPHRASE, requireTool, sesame, type TestHome } from '../helpers/cli.js';
import { ask, exchange, sleep, sockOf, startAgent, stopAgent, waitFor, type Reply } from '../helpers/agent.js';
import { HV_VALUE, approvalHome, approveOnTty, onTty, pendingList, readAs, tokenEnv, waitPending } from '../helpers/approval.js';

const reasonOf = (r: Reply | undefined): unknown => (r?.error as { detail?: { reason?: unknown } } | undefined)?.detail?.reason;

/** The request `id` is still waiting (nobody approved it). */
async function stillPending(h: TestHome, id: string): Promise<void> {
  assert.ok(
    (await pendingList(h)).some((p) => p.id === id),
    `request ${id} should still be waiting`,
  );
}

test("a delegated caller's own sesame approve is refused: passphrase on stdin, in SESAME_PASSPHRASE, over a token connection, on a profile socket", async () => {
  const { h, token } = await approvalHome('sesame-apv-self-', 'approval_timeout = "30s"\n');
  fs.mkdirSync(path.join(h.dir, 'profiles'), { mode: 0o700 });
  fs.writeFileSync(path.join(h.dir, 'profiles', 'ai.toml'), 'projects = ["default"]\nkeys = ["*"]\nreveal = true\n', { mode: 0o600 });
  try {
    await startAgent(h);
    const read = readAs(tokenEnv(h, token));
    const [p] = await waitPending(h);
    const id = p!.id;
    // 1. The passphrase on stdin (no terminal: the test runs it in a new session).
    const { SESAME_PASSPHRASE_FILE: _pf, ...noFile } = h.env;
    const stdin = await sesame(['approve', id], { env: noFile, input: `${PASSPHRASE}\n` });
    assert.equal(stdin.code, 8, stdin.stderr);
    assert.match(stdin.stderr, /typed at a terminal/);
    await stillPending(h, id);
    // 2. The passphrase in SESAME_PASSPHRASE (and its file): never read for an approval.
    const envPass = await sesame(['approve', id], { env: { ...h.env, SESAME_PASSPHRASE: PASSPHRASE } });
    assert.equal(envPass.code, 8, envPass.stderr);
    await stillPending(h, id);
    // 3. Over a token connection: the agent refuses every approval op with a token.
    const withToken = await sesame(['approve', id], { env: tokenEnv(h, token) });
    assert.equal(withToken.code, 8, withToken.stderr);
    assert.match(withToken.stderr, /only the owner/);
    for (const op of [{ op: 'approvals' }, { op: 'challenge' }, { op: 'deny', approval_id: id }, { op: 'approve', approval_id: id, mode: 'session', pin: '123456' }]) {
      assert.equal(reasonOf(await ask(sockOf(h), { v: 2, id: 1, ...op, token })), 'owner_only', JSON.stringify(op));
    }
    // 4. On a profile socket (with or without a token).
    const profileSock = path.join(h.dir, 'sockets', 'ai.sock');
    await waitFor('the profile socket', () => fs.existsSync(profileSock));
    const viaProfile = await sesame(['approve', id], { env: { ...noFile, SESAME_AGENT_SOCK: profileSock, SESAME_AGENT_DELEGATED: '1' } });
    assert.equal(viaProfile.code, 8, viaProfile.stderr);
    for (const op of [{ op: 'approvals' }, { op: 'challenge' }, { op: 'approve', approval_id: id, mode: 'once', pin: '123456' }]) {
      assert.equal(reasonOf(await ask(profileSock, { v: 2, id: 1, ...op })), 'owner_only', JSON.stringify(op));
    }
    await stillPending(h, id);
    // 5. On the owner socket without a token, the AGENT checks the proof: a made-up one is refused…
    const { nonce } = (await ask(sockOf(h), { v: 2, id: 1, op: 'challenge' })) as { nonce: string };
    const forged = await ask(sockOf(h), { v: 2, id: 2, op: 'approve', approval_id: id, mode: 'once', nonce, proof: 'ab'.repeat(32) });
    assert.equal(reasonOf(forged), 'approval_proof');
    // …and so is a PIN when none was set by the owner.
    const pinNone = await ask(sockOf(h), { v: 2, id: 3, op: 'approve', approval_id: id, mode: 'once', pin: '1234' });
    assert.equal(reasonOf(pinNone), 'approval_pin_unset');
    await stillPending(h, id);
    await sesame(['approve', id, '--deny'], { env: h.env });
    assert.equal((await read).code, 8);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a proof is bound to one challenge and one decision: a replayed or re-targeted proof is refused', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const { h, token } = await approvalHome('sesame-apv-replay-', 'approval_timeout = "30s"\n');
  try {
    await startAgent(h);
    // The owner approves one request --once; a recorder on the socket path sees nothing (0600), so the
    // attacker's best is to guess: a proof for "once" does not approve "session", and a challenge is single-use.
    const read = readAs(tokenEnv(h, token));
    const [p] = await waitPending(h);
    const { nonce } = (await ask(sockOf(h), { v: 2, id: 1, op: 'challenge' })) as { nonce: string };
    const { makeProof } = await import('../../src/core/approval/proof.js');
    const { unlockVault } = await import('../../src/core/vault/store.js');
    const { homePaths } = await import('../../src/core/paths.js');
    const v = unlockVault(homePaths(h.dir, {}), Buffer.from(PASSPHRASE));
    const once = makeProof(v.master, nonce, { approvalId: p!.id, mode: 'once' });
    v.dispose();
    const retargeted = await ask(sockOf(h), { v: 2, id: 2, op: 'approve', approval_id: p!.id, mode: 'session', nonce, proof: once });
    assert.equal(reasonOf(retargeted), 'approval_proof');
    const replayed = await ask(sockOf(h), { v: 2, id: 3, op: 'approve', approval_id: p!.id, mode: 'once', nonce, proof: once });
    assert.equal(reasonOf(replayed), 'approval_proof', 'the challenge was spent by the first attempt');
    await stillPending(h, p!.id);
    const ok = await approveOnTty(h, [p!.id]);
    assert.equal(ok.status, 0, ok.output);
    assert.equal((await read).out, `${HV_VALUE}\n`);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a grant for one executable does not cover another with the same token', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const { h, token } = await approvalHome('sesame-apv-exe-', 'approval_timeout = "3s"\n');
  try {
    await startAgent(h);
    const read = readAs(tokenEnv(h, token));
    const [p] = await waitPending(h);
    assert.equal(p!.caller.exe, process.execPath);
    assert.equal((await approveOnTty(h, [p!.id, '--session'])).status, 0);
    assert.equal((await read).code, 0);
    // The same executable (node) with the same token: covered.
    const same = await exchange(sockOf(h), [`${JSON.stringify({ v: 2, id: 1, op: 'get', project: 'default', key: 'HV', token })}\n`], 1);
    assert.equal(same[0]?.frame, 'ok', JSON.stringify(same));
    // python3 speaking the socket with the same token: not covered, it waits.
    const py = `import socket,json,sys
s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1])
s.sendall((json.dumps({"v":2,"id":1,"op":"get","project":"default","key":"HV","token":sys.argv[2]})+"\\n").encode())
print(s.makefile().readline().strip())`;
    const r = spawnSync('python3', ['-c', py, sockOf(h), token], { encoding: 'utf8', timeout: 20_000 });
    const frame = JSON.parse(r.stdout) as Reply;
    assert.equal(frame.frame, 'pending', r.stdout + r.stderr);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('approval_max caps --for: no approver can grant longer', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const { h, token } = await approvalHome('sesame-apv-max-', 'approval_timeout = "2s"\napproval_max = "2s"\n');
  try {
    await startAgent(h);
    const read = readAs(tokenEnv(h, token));
    const [p] = await waitPending(h);
    const a = await approveOnTty(h, [p!.id, '--for', '8h']);
    assert.equal(a.status, 0, a.output);
    assert.match(a.output, /capped at approval_max/);
    assert.equal((await read).code, 0);
    const g = JSON.parse((await sesame(['approve', '--list-grants', '--json'], { env: h.env })).out) as { grants: Array<{ expires_at: string }> };
    assert.equal(g.grants.length, 1);
    assert.ok(Date.parse(g.grants[0]!.expires_at) - Date.now() <= 2000, `expires ${g.grants[0]!.expires_at}`);
    await sleep(2300);
    const late = await readAs(tokenEnv(h, token));
    assert.equal(late.code, 8, 'the grant ended at approval_max, not after 8 h');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('the second pending request from the same caller for the same keys is denied at once, not queued', async () => {
  const { h, token } = await approvalHome('sesame-apv-flood-', 'approval_timeout = "30s"\n');
  try {
    await startAgent(h);
    const first = readAs(tokenEnv(h, token));
    const [p] = await waitPending(h);
    const t0 = Date.now();
    const second = await sesame(['get', 'HV'], { env: tokenEnv(h, token) });
    assert.equal(second.code, 8, second.stderr);
    assert.ok(Date.now() - t0 < 10_000, 'answered at once, not after a wait');
    assert.match(second.stderr, new RegExp(`request ${p!.id} for the same keys is already waiting`));
    const wire = await ask(sockOf(h), { v: 2, id: 1, op: 'get', project: 'default', key: 'HV', token });
    assert.equal(reasonOf(wire), 'approval_pending');
    assert.equal((await pendingList(h)).length, 1, 'only one prompt for the owner');
    await sesame(['approve', p!.id, '--deny'], { env: h.env });
    await first;
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('approve pin set makes the PIN the proof; a PIN file not sealed with the vault key is ignored', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const { h, token } = await approvalHome('sesame-apv-pin-', 'approval_timeout = "30s"\n');
  try {
    const { SESAME_PASSPHRASE_FILE: _pf, ...env } = h.env;
    const set = await onTty(
      env,
      [process.execPath, BIN, 'approve', 'pin', 'set'],
      [{ expect: 'passphrase' }, { send: `${PASSPHRASE}\r` }, { expect: 'New approval PIN' }, { send: '4821-ok\r' }, { expect: 'Again' }, { send: '4821-ok\r' }],
    );
    assert.equal(set.status, 0, set.output);
    const pinFile = path.join(h.dir, 'approval-pin.json');
    assert.equal(fs.statSync(pinFile).mode & 0o777, 0o600);
    assert.ok(!fs.readFileSync(pinFile, 'utf8').includes('4821-ok'), 'only a hash is stored');
    await startAgent(h);
    const read = readAs(tokenEnv(h, token));
    const [p] = await waitPending(h);
    const wrong = await approveOnTty(h, [p!.id], '0000-no', 'PIN');
    assert.equal(wrong.status, 8, wrong.output);
    const right = await approveOnTty(h, [p!.id], '4821-ok', 'PIN');
    assert.equal(right.status, 0, right.output);
    assert.equal((await read).out, `${HV_VALUE}\n`);

    // A same-uid attacker writes its own PIN hash into the file: the agent ignores it.
    const { hashPin } = await import('../../src/core/crypto/sodium.js');
    const doc = JSON.parse(fs.readFileSync(pinFile, 'utf8')) as { v: number; hash: string; mac: string };
    fs.writeFileSync(pinFile, JSON.stringify({ ...doc, hash: hashPin(Buffer.from('9999')) }), { mode: 0o600 });
    const read2 = readAs(tokenEnv(h, token));
    const [q] = await waitPending(h);
    const attack = await ask(sockOf(h), { v: 2, id: 1, op: 'approve', approval_id: q!.id, mode: 'session', pin: '9999' });
    assert.equal(reasonOf(attack), 'approval_pin_unset');
    await stillPending(h, q!.id);
    await sesame(['approve', q!.id, '--deny'], { env: h.env });
    assert.equal((await read2).code, 8);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('approve --watch prompts on the terminal for each new request, and says so when no desktop notifier exists', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const { h, token } = await approvalHome('sesame-apv-watch-', 'approval_timeout = "30s"\n');
  try {
    await startAgent(h);
    // No notify-send on this PATH: the no-notifier path.
    const env = { ...h.env, PATH: '/nonexistent' };
    // The interpreter's real path (a shim on PATH may itself need PATH).
    const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
    const watching = onTty(
      env,
      [process.execPath, BIN, 'approve', '--watch'],
      [{ expect: 'no desktop notifier' }, { expect: '[o]nce' }, { send: 'd\r' }, { expect: 'denied' }, { send: '\x03' }],
      python,
    );
    await sleep(500);
    const read = await readAs(tokenEnv(h, token));
    assert.equal(read.code, 8, read.stderr);
    assert.match(read.stderr, /owner denied/);
    const w = await watching;
    assert.match(w.output, /get default HV/);
    assert.ok(!w.output.includes(HV_VALUE));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a caller raising more than 5 approval requests a minute is refused with approval_rate, and the owner sees none of the extra', async () => {
  const { h, token } = await approvalHome('sesame-apv-rate-', 'approval_timeout = "30s"\n');
  try {
    await startAgent(h);
    const line = `${JSON.stringify({ v: 2, id: 1, op: 'get', project: 'default', key: 'HV', token })}\n`;
    // Each request waits (pending), then its client leaves: withdrawn, but counted.
    for (let i = 0; i < 5; i++) {
      const [f] = await exchange(sockOf(h), [line], 1);
      assert.equal(f?.frame, 'pending', `request ${i + 1}: ${JSON.stringify(f)}`);
      await waitFor('the withdrawal', async () => (await pendingList(h)).length === 0);
    }
    const [sixth] = await exchange(sockOf(h), [line], 1);
    assert.equal(reasonOf(sixth), 'approval_rate', JSON.stringify(sixth));
    assert.equal((await pendingList(h)).length, 0);
    // Another token is another caller: not limited by the first one's flood.
    const other = (await sesame(['token', 'new'], { env: h.env })).out.trimEnd();
    const [f] = await exchange(sockOf(h), [`${JSON.stringify({ v: 2, id: 1, op: 'get', project: 'default', key: 'HV', token: other })}\n`], 1);
    assert.equal(f?.frame, 'pending');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
