/**
 * Idle and absolute TTLs on a real agent, with small values. The rules themselves are
 * unit-tested without sleeping (test/unit/agent-session.test.ts); here the timer must
 * really fire, promptly, and clean up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initHome, sesame, setSecret } from '../helpers/cli.js';
import { agentFiles, alive, ask, gone, logOf, sleep, sockOf, startAgent, stopAgent, waitFor } from '../helpers/agent.js';

test('the agent stops after --idle without requests, and cleans up', async () => {
  const h = await initHome();
  try {
    const pid = await startAgent(h, ['--idle', '1s']);
    const waited = await waitFor('idle expiry', () => gone(agentFiles(h)), 4000);
    assert.ok(waited >= 500, `expired too early (${waited} ms after start returned)`);
    await waitFor('the process to exit', () => !alive(pid));
    assert.match(logOf(h), /stopped: idle/);
    const st = await sesame(['agent', 'status'], { env: h.env });
    assert.equal(st.code, 3);
  } finally {
    h.cleanup();
  }
});

test('the absolute TTL fires under steady traffic', async () => {
  const h = await initHome();
  await setSecret(h, 'API', 'v1');
  try {
    const pid = await startAgent(h, ['--idle', '1s', '--ttl', '2500ms']);
    const t0 = Date.now(); // the agent's clock started a little earlier: the TTL ends by t0 + 2.5 s
    let served = 0;
    let lastServedAt = 0;
    while (Date.now() - t0 < 6000 && !gone(agentFiles(h))) {
      const r = await ask(sockOf(h), { v: 1, op: 'get', project: 'default', key: 'API' }).catch(() => null);
      if (r?.ok) {
        served++;
        lastServedAt = Date.now() - t0;
      }
      await sleep(150);
    }
    const stoppedAt = Date.now() - t0;
    assert.ok(gone(agentFiles(h)), 'the agent stopped');
    assert.ok(lastServedAt > 1200, `requests were served past the 1 s idle limit (last at ${lastServedAt} ms): traffic reset it`);
    assert.ok(stoppedAt < 2500 + 1000, `stopped promptly at the TTL (${stoppedAt} ms after start returned)`);
    assert.ok(served >= 8, `served ${served} requests`);
    assert.match(logOf(h), /stopped: ttl/);
    await waitFor('the process to exit', () => !alive(pid));
  } finally {
    h.cleanup();
  }
});

test('--idle 0 never expires: the agent outlives idle time and reports no idle deadline', async () => {
  const h = await initHome();
  try {
    await startAgent(h, ['--idle', '0', '--ttl', '1m']);
    await sleep(1500);
    assert.ok(!gone(agentFiles(h)), 'still running after 1.5 s without a request');
    const st = await sesame(['agent', 'status', '--json'], { env: h.env });
    assert.equal(st.code, 0);
    const b = JSON.parse(st.out) as { idle_remaining_s: unknown; absolute_remaining_s: number; idle_s: number };
    assert.equal(b.idle_remaining_s, null);
    assert.equal(b.idle_s, 0);
    assert.ok(b.absolute_remaining_s > 50 && b.absolute_remaining_s <= 60);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('bad durations are usage errors (exit 2) and --ttl 0 is refused', async () => {
  const h = await initHome();
  try {
    for (const args of [
      ['--idle', 'soon'],
      ['--ttl', '0'],
      ['--ttl', '-1s'],
    ]) {
      const r = await sesame(['agent', 'start', '--background', ...args], { env: h.env });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
    assert.ok(gone(agentFiles(h)));
  } finally {
    h.cleanup();
  }
});
