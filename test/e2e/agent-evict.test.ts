/**
 * Idle eviction (`agent start --evict-after`): a project key the agent unwrapped is wiped
 * once unused that long, kept while in use; the master key stays. Each served descriptor and
 * each eviction is an audit event (`fd`, `evict`) and a debug line in agent.log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initHome, sesame, setSecret } from '../helpers/cli.js';
import { logOf, sleep, sockOf, startAgent, stopAgent, waitFor } from '../helpers/agent.js';
import { getFdFromAgent } from '../../src/core/agent/fd-client.js';
import { closeDescriptor } from '../../src/core/os/native.js';

const evictions = (log: string): number => (log.match(/debug: evict: wiped the key of project default/g) ?? []).length;

test('a project key unused for --evict-after is wiped (debug line, audit event), kept while used, and unwrapped again on the next read', async () => {
  const h = await initHome();
  await setSecret(h, 'A', 'value-a');
  const env = { ...h.env, SESAME_PASSPHRASE_FILE: '' };
  try {
    await startAgent(h, ['--evict-after', '1500ms'], { ...h.env, SESAME_AGENT_DEBUG: '1' });
    // Used every 400 ms for 3 s: never idle for 1.5 s, never evicted.
    for (let i = 0; i < 8; i++) {
      assert.equal((await sesame(['get', 'A'], { env })).out, 'value-a\n');
      await sleep(400);
    }
    assert.equal(evictions(logOf(h)), 0, 'kept while in use');
    await waitFor('the eviction', () => evictions(logOf(h)) === 1, 6000);
    // The master key stayed: the next read unwraps the project key again, without a passphrase.
    assert.equal((await sesame(['get', 'A'], { env })).out, 'value-a\n');
    await waitFor('the second eviction', () => evictions(logOf(h)) === 2, 6000);
    await stopAgent(h); // the audit's group commit is flushed at stop
    const shown = await sesame(['audit', 'show', '--event', 'evict', '--json'], { env: h.env });
    assert.equal(shown.code, 0, shown.stderr);
    const recs = JSON.parse(shown.out) as Array<Record<string, unknown>>;
    assert.equal(recs.length, 2);
    assert.deepEqual([recs[0]!.event, recs[0]!.outcome, recs[0]!.reason, recs[0]!.via, recs[0]!.project], ['evict', 'ok', 'idle', 'agent', 'default']);
    assert.ok(!logOf(h).includes('value-a'), 'no value in the log');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('--evict-after 0 keeps project keys until the agent stops', async () => {
  const h = await initHome();
  await setSecret(h, 'A', 'value-a');
  try {
    await startAgent(h, ['--evict-after', '0'], { ...h.env, SESAME_AGENT_DEBUG: '1' });
    assert.equal((await sesame(['get', 'A'], { env: { ...h.env, SESAME_PASSPHRASE_FILE: '' } })).code, 0);
    await sleep(1500);
    assert.equal(evictions(logOf(h)), 0);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('each descriptor served is an audit event fd (with its kind), after the read record', async () => {
  const h = await initHome();
  await setSecret(h, 'A', 'value-a');
  try {
    await startAgent(h);
    closeDescriptor(getFdFromAgent(sockOf(h), h.env, 'default', 'A', { kind: 'sealed' }).fd);
    await stopAgent(h);
    const shown = await sesame(['audit', 'show', '--key', 'A', '--json'], { env: h.env });
    assert.equal(shown.code, 0, shown.stderr);
    const recs = (JSON.parse(shown.out) as Array<Record<string, unknown>>).filter((r) => r.via === 'agent');
    assert.deepEqual(
      recs.map((r) => [r.event, r.outcome, r.reason ?? null]),
      [
        ['get', 'ok', null],
        ['fd', 'ok', 'sealed'],
      ],
    );
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
