/**
 * Who the agent serves: the kernel's peer credentials (SO_PEERCRED), never a claim.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { initHome, sesame, setSecret } from '../helpers/cli.js';
import { alive, ask, chownTree, exchange, logOf, sesameAs, sockOf, startAgent, stopAgent } from '../helpers/agent.js';

const NOBODY = 65534;

test('a same-uid peer is served, with or without a truthful pid claim', async () => {
  const h = await initHome();
  await setSecret(h, 'API', 'same-uid');
  try {
    await startAgent(h);
    for (const pid of [undefined, process.pid]) {
      const r = await ask(sockOf(h), { v: 1, op: 'get', project: 'default', key: 'API', ...(pid ? { pid } : {}) });
      assert.equal(r.ok, true);
      assert.equal(Buffer.from(r.value as string, 'base64').toString(), 'same-uid');
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a foreign-uid peer is denied: the agent runs as nobody, root connects', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to run an agent as nobody');
    return;
  }
  const h = await initHome();
  await setSecret(h, 'API', 'nobodys');
  const env = { ...h.env };
  chownTree(path.dirname(h.dir), NOBODY, NOBODY);
  try {
    const canRun = await sesameAs(NOBODY, NOBODY, ['--version'], env);
    assert.equal(canRun.code, 0, `nobody cannot run the built CLI (make dist/ and node_modules world-readable): ${canRun.stderr}`);
    const started = await sesameAs(NOBODY, NOBODY, ['agent', 'start', '--background', '--json'], env);
    assert.equal(started.code, 0, started.stderr);
    const pid = (JSON.parse(started.out) as { pid: number }).pid;
    // Root can open the 0600 socket (root bypasses file permissions): only the peer check stands.
    const replies = await exchange(sockOf(h), ['{"v":1,"op":"get","project":"default","key":"API"}\n'], 5);
    assert.equal(replies.length, 1, 'one denial line, then the agent closes');
    assert.equal(replies[0]!.ok, false);
    assert.equal((replies[0]!.error as { code: string }).code, 'DENIED');
    assert.ok(!JSON.stringify(replies).includes('nobodys'));
    assert.match(logOf(h), /denied a connection: peer uid 0 /);
    // The owner is still served.
    const own = await sesameAs(NOBODY, NOBODY, ['get', 'API'], { ...env, SESAME_PASSPHRASE_FILE: '/nonexistent' });
    assert.equal(own.code, 0, own.stderr);
    assert.equal(own.out, 'nobodys\n');
    assert.ok(alive(pid));
  } finally {
    await sesameAs(NOBODY, NOBODY, ['agent', 'stop'], env);
    h.cleanup();
  }
});

test('a false pid claim is denied and closes the connection; the agent keeps serving', async () => {
  const h = await initHome();
  await setSecret(h, 'API', 'v');
  try {
    await startAgent(h);
    const replies = await exchange(sockOf(h), [`{"v":1,"op":"get","project":"default","key":"API","pid":${process.pid === 1 ? 2 : 1}}\n`, '{"v":1,"op":"status"}\n'], 5);
    assert.equal(replies.length, 1, 'nothing is answered after the denial');
    assert.equal((replies[0]!.error as { code: string }).code, 'DENIED');
    assert.match((replies[0]!.error as { message: string }).message, /pid does not match/);
    assert.equal((await ask(sockOf(h), { v: 1, op: 'status', pid: process.pid })).ok, true);
    assert.match(logOf(h), /denied a request: pid claim/);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('the CLI refuses an agent socket that is not its own, and status says it is not accessible', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to run an agent as nobody');
    return;
  }
  const h = await initHome();
  const env = { ...h.env };
  chownTree(path.dirname(h.dir), NOBODY, NOBODY);
  try {
    const started = await sesameAs(NOBODY, NOBODY, ['agent', 'start', '--background'], env);
    assert.equal(started.code, 0, started.stderr);
    // As root, pointing at nobody's socket: the client refuses a socket that is not ours
    // before sending anything (INSECURE, exit 1) rather than trusting or bypassing it.
    const r = await sesame(['get', 'API'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /agent socket .* is not private to you/);
    const st = await sesame(['agent', 'status', '--json'], { env });
    assert.equal(st.code, 1, 'running (its pid is alive) but not accessible');
    const b = JSON.parse(st.out) as { running: boolean; accessible: boolean; error: { code: string } };
    assert.deepEqual([b.running, b.accessible, b.error.code], [true, false, 'INSECURE']);
  } finally {
    await sesameAs(NOBODY, NOBODY, ['agent', 'stop'], env);
    h.cleanup();
  }
});
