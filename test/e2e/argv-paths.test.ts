/**
 * One argv grammar on both paths: the executable's agent fast path and the full CLI (a
 * direct unlock with --no-agent) read the same command line the same way, and nothing
 * after `--` is ever read as an option or a command word.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initHome, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { startAgent, stopAgent } from '../helpers/agent.js';

/** No passphrase: only a running agent can answer (a direct unlock would exit 3). */
const locked = (h: TestHome): NodeJS.ProcessEnv => ({ ...h.env, SESAME_PASSPHRASE_FILE: '' });

const FORMS: string[][] = [
  ['-p', 'P', 'get', 'K'],
  ['get', 'K', '-p', 'P'],
  ['get', '-p', 'P', 'K'],
  ['--project=P', 'get', 'K'],
  ['get', '--project=P', 'K'],
  ['-pP', 'get', 'K'],
  ['--project', 'P', 'get', 'K'],
];

async function projectHome(): Promise<TestHome> {
  const h = await initHome();
  const c = await sesame(['projects', 'create', 'P'], { env: h.env });
  assert.equal(c.code, 0, c.stderr);
  await setSecret(h, 'K', 'in-default');
  await setSecret(h, 'K', 'in-P', ['-p', 'P']);
  return h;
}

test('every placement of -p/--project selects the same project through the agent and without it', async () => {
  const h = await projectHome();
  try {
    for (const form of FORMS) {
      const direct = await sesame(['--no-agent', ...form], { env: h.env });
      assert.equal(direct.code, 0, `${form.join(' ')} --no-agent: ${direct.stderr}`);
      assert.equal(direct.out, 'in-P\n', `${form.join(' ')} --no-agent`);
      const directEnv = await sesame(form, { env: { ...h.env, SESAME_NO_AGENT: '1' } });
      assert.equal(directEnv.out, 'in-P\n', `${form.join(' ')} SESAME_NO_AGENT=1`);
    }
    await startAgent(h);
    for (const form of FORMS) {
      const viaAgent = await sesame(form, { env: locked(h) });
      assert.equal(viaAgent.code, 0, `${form.join(' ')} via the agent: ${viaAgent.stderr}`);
      assert.equal(viaAgent.out, 'in-P\n', `${form.join(' ')} via the agent`);
    }
    const plain = await sesame(['get', 'K'], { env: locked(h) });
    assert.equal(plain.out, 'in-default\n');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a usage error reads the same on both paths', async () => {
  const h = await projectHome();
  try {
    await startAgent(h);
    for (const bad of [
      ['get', 'K', '-p'],
      ['get', '--bogus', 'K'],
      ['--bogus', 'get', 'K'],
      ['get', '-n', 'K', 'L'],
      ['-p', 'P', 'nosuch', 'K'],
    ]) {
      const viaAgent = await sesame(bad, { env: locked(h) });
      const direct = await sesame(['--no-agent', ...bad], { env: h.env });
      assert.equal(viaAgent.code, 2, `${bad.join(' ')}: ${viaAgent.stderr}`);
      assert.equal(direct.code, 2, `--no-agent ${bad.join(' ')}: ${direct.stderr}`);
      assert.equal(viaAgent.stderr, direct.stderr, bad.join(' '));
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('run passes everything after -- to the command untouched, with and without the agent', async () => {
  const h = await projectHome();
  const tail = ['-p', 'x', '--home', 'y', '--json', '--no-agent', '--help', '--version', '--', 'get', 'K'];
  const cmd = ['node', '-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', '--', ...tail];
  try {
    const direct = await sesame(['--no-agent', '-p', 'P', 'run', '--', ...cmd], { env: h.env });
    assert.equal(direct.code, 0, direct.stderr);
    assert.deepEqual(JSON.parse(direct.out), tail);
    await startAgent(h);
    const viaAgent = await sesame(['run', '-p', 'P', '--', ...cmd], { env: locked(h) });
    assert.equal(viaAgent.code, 0, viaAgent.stderr);
    assert.deepEqual(JSON.parse(viaAgent.out), tail);
    // `run -- get K` runs a program called get; it is never the get command.
    const notGet = await sesame(['run', '--', 'get', 'K'], { env: locked(h) });
    assert.notEqual(notGet.out, 'in-default\n');
    assert.equal(notGet.code, 127, notGet.stderr);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
