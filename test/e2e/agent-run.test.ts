/**
 * `run` through a running agent (the executable's fast path) behaves exactly as `run` with
 * a direct unlock: the same selection rules, exit codes, stripped variables and execve.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, initHome, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { createHash } from 'node:crypto';
import { startAgent as startHomeAgent, stopAgent } from '../helpers/agent.js';

const locked = (h: TestHome): NodeJS.ProcessEnv => ({ ...h.env, SESAME_PASSPHRASE_FILE: '', SESAME_AGENT_TOKEN: 'not-for-the-child' });

/** Starts the agent with 'not-for-the-child' registered as an unrestricted token (the client sends SESAME_AGENT_TOKEN; issue 9). */
async function startAgent(h: TestHome): Promise<number> {
  const digest = createHash('sha256').update('not-for-the-child').digest('hex');
  const line = JSON.stringify({ v: 1, id8: digest.slice(0, 8), digest, scope: {}, created_at: new Date().toISOString() });
  fs.writeFileSync(path.join(h.dir, 'tokens'), `${line}\n`, { mode: 0o600 });
  return startHomeAgent(h);
}

test('run through the agent injects the selection and strips every SESAME_ variable', async () => {
  const h = await initHome();
  await setSecret(h, 'APP_A', 'a$(x)\n');
  await setSecret(h, 'APP_B', 'b');
  await setSecret(h, 'OTHER', 'o');
  try {
    await startAgent(h);
    const r = await sesame(['run', '--prefix', 'APP_', '--', 'node', '-e', 'process.stdout.write(JSON.stringify(process.env))'], { env: locked(h) });
    assert.equal(r.code, 0, r.stderr);
    const env = JSON.parse(r.out) as Record<string, string>;
    assert.equal(env.APP_A, 'a$(x)\n');
    assert.equal(env.APP_B, 'b');
    assert.equal(env.OTHER, undefined);
    assert.deepEqual(
      Object.keys(env).filter((k) => k.startsWith('SESAME_')),
      [],
    );
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('run through the agent: --strict with a missing key exits 4 before anything runs', async () => {
  const h = await initHome();
  await setSecret(h, 'A', '1');
  const marker = path.join(h.dir, '..', 'ran');
  try {
    await startAgent(h);
    const r = await sesame(['run', '--only', 'A,MISSING', '--strict', '--', 'touch', marker], { env: locked(h) });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /missing in project default: MISSING/);
    assert.ok(!fs.existsSync(marker));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('run through the agent keeps the command’s exit status, signal, pid and 127 for an unknown command', async () => {
  const h = await initHome();
  try {
    await startAgent(h);
    const env = locked(h);
    assert.equal((await sesame(['run', '--', 'sh', '-c', 'exit 42'], { env })).code, 42);
    assert.equal((await sesame(['run', '--', 'sh', '-c', 'kill -TERM $$'], { env })).signal, 'SIGTERM');
    const nf = await sesame(['run', '--', 'no-such-command-xyz'], { env });
    assert.equal(nf.code, 127);
    assert.match(nf.stderr, /command not found: no-such-command-xyz/);
    const p = await runProcess('sh', ['-c', `'${process.execPath}' '${BIN}' run -- sh -c 'echo $$' & echo $!; wait`], { env });
    const [bg, child] = p.out.trim().split('\n');
    assert.equal(child, bg, 'no sesame process lingers');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('run through the agent refuses an invalid --only name like the direct path', async () => {
  const h = await initHome();
  try {
    await startAgent(h);
    const r = await sesame(['run', '--only', 'BAD-NAME', '--', 'true'], { env: locked(h) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid key name "BAD-NAME"/);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
