/**
 * `lock` and `agent stop` find the agent as every reader does (the home's socket, or
 * SESAME_AGENT_SOCK), and when they cannot reach one that shows signs of life (agent.pid,
 * agent.lock) they say so — exit 1, naming the pid and what to do — never "no agent was
 * running" while it keeps serving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { alive, startAgent, waitFor } from '../helpers/agent.js';

/** A home plus an env whose SESAME_AGENT_SOCK points into a private directory outside it. */
async function homeWithCustomSock(): Promise<{ h: TestHome; custom: NodeJS.ProcessEnv; sock: string }> {
  const h = await initHome();
  await setSecret(h, 'API', 'v1');
  const dir = path.join(path.dirname(h.dir), 'run');
  fs.mkdirSync(dir, { mode: 0o700 });
  const sock = path.join(dir, 'a.sock');
  return { h, custom: { ...h.env, SESAME_AGENT_SOCK: sock }, sock };
}

test('lock with the same SESAME_AGENT_SOCK stops an agent on that custom socket', async () => {
  const { h, custom, sock } = await homeWithCustomSock();
  try {
    const pid = await startAgent(h, [], custom);
    const r = await sesame(['lock'], { env: custom });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /stopped the agent; its keys are wiped/);
    await waitFor('the agent to exit', () => !alive(pid));
    assert.ok(!fs.existsSync(sock));
    const st = await sesame(['agent', 'status'], { env: custom });
    assert.equal(st.code, 3, 'not running');
    const get = await sesame(['get', 'API'], { env: custom });
    assert.equal(get.out, 'v1\n', 'get falls back to a direct unlock');
  } finally {
    await sesame(['agent', 'stop'], { env: custom });
    h.cleanup();
  }
});

test('lock and agent stop without that SESAME_AGENT_SOCK say they could not reach the running agent, never "no agent was running"', async () => {
  const { h, custom } = await homeWithCustomSock();
  try {
    const pid = await startAgent(h, [], custom);
    for (const args of [['lock'], ['agent', 'stop']]) {
      const r = await sesame(args, { env: h.env });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /no agent (was|is) running/);
      assert.match(r.stderr, new RegExp(`seems to be running \\(pid ${pid}\\), but it does not answer on ${path.join(h.dir, 'agent.sock')}`));
      assert.match(r.stderr, /hint: .*SESAME_AGENT_SOCK.*kill \d+/);
      assert.ok(alive(pid), 'nothing was killed on a guess');
    }
    const json = await sesame(['lock', '--json'], { env: h.env });
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.out) as { pid: number }).pid, pid);
    // Without agent.pid, the holder recorded in the held agent.lock is still a sign.
    fs.renameSync(path.join(h.dir, 'agent.pid'), path.join(h.dir, 'agent.pid.aside'));
    const noPidFile = await sesame(['lock'], { env: h.env });
    assert.equal(noPidFile.code, 1, noPidFile.stderr);
    assert.match(noPidFile.stderr, new RegExp(`pid ${pid}`));
    fs.renameSync(path.join(h.dir, 'agent.pid.aside'), path.join(h.dir, 'agent.pid'));
  } finally {
    await sesame(['agent', 'stop'], { env: custom });
    h.cleanup();
  }
});

test('lock with no agent and no sign of one says no agent was running (exit 0)', async () => {
  const h = await initHome();
  try {
    const r = await sesame(['lock'], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no agent was running/);
  } finally {
    h.cleanup();
  }
});
