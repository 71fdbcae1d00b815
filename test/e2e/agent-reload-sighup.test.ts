/**
 * SIGHUP reloads the agent's policy (core/policy/store.ts). Until policy files exist (tokens,
 * profiles: the next issue) a reload is a no-op path with its log line; the agent keeps serving
 * through it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initHome, sesame, setSecret } from '../helpers/cli.js';
import { alive, logOf, startAgent, stopAgent, waitFor } from '../helpers/agent.js';

test('SIGHUP reloads the policy: the log says so and the agent still serves', async () => {
  const h = await initHome();
  try {
    await setSecret(h, 'K', 'v1');
    const pid = await startAgent(h);
    process.kill(pid, 'SIGHUP');
    await waitFor('the reload to be logged', () => /policy reloaded \(2 loaders\)/.test(logOf(h)));
    assert.ok(alive(pid));
    const env = { ...h.env };
    delete env.SESAME_PASSPHRASE_FILE; // only the agent can answer
    const r = await sesame(['get', 'K'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, 'v1\n');
    assert.doesNotMatch(logOf(h), /stopped/);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('the agent keeps serving while it is reloaded again and again', async () => {
  const h = await initHome();
  try {
    await setSecret(h, 'K', 'v2');
    const pid = await startAgent(h);
    const env = { ...h.env };
    delete env.SESAME_PASSPHRASE_FILE;
    let hups = 0;
    const storm = setInterval(() => {
      process.kill(pid, 'SIGHUP');
      hups++;
    }, 5);
    try {
      const reads = await Promise.all(Array.from({ length: 8 }, () => sesame(['get', 'K'], { env })));
      for (const r of reads) {
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.out, 'v2\n');
      }
    } finally {
      clearInterval(storm);
    }
    assert.ok(hups > 0);
    await waitFor('the reloads to be logged', () => (logOf(h).match(/policy reloaded/g) ?? []).length >= 1);
    assert.ok(alive(pid));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
