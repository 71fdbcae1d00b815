/**
 * Where the owner socket goes when the home's own path is too long for a Unix socket
 * (sun_path: 107 bytes on Linux): a private directory under $XDG_RUNTIME_DIR, found by the
 * agent and every client through one placement rule (core/paths.ts placeSocket).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initHome, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { logOf, startAgent, stopAgent, waitFor } from '../helpers/agent.js';

/** A home whose `agent.sock` would be longer than 107 bytes. */
async function longHome(): Promise<TestHome> {
  const h = await initHome(`sesame-listeners-${'x'.repeat(90)}-`);
  assert.ok(Buffer.byteLength(path.join(h.dir, 'agent.sock')) > 107, 'the test home must be too long for a socket');
  return h;
}

/** A fresh private runtime directory (as /run/user/UID is). */
function runtimeDir(mode = 0o700): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sx-'));
  fs.chmodSync(d, mode);
  return d;
}

/** The environment without the passphrase: a read that succeeds went through the agent. */
function agentOnly(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const e = { ...env };
  delete e.SESAME_PASSPHRASE_FILE;
  return e;
}

test('a home too long for a socket: the agent binds under $XDG_RUNTIME_DIR, get finds it there, agent status says where', async () => {
  const h = await longHome();
  const xdg = runtimeDir();
  const env = { ...h.env, XDG_RUNTIME_DIR: xdg };
  try {
    await setSecret({ ...h, env }, 'API_KEY', 'v-relocated');
    await startAgent(h, [], env);
    assert.equal(fs.existsSync(path.join(h.dir, 'agent.sock')), false, 'no socket in the home');
    const dirs = fs.readdirSync(xdg);
    assert.equal(dirs.length, 1);
    assert.match(dirs[0]!, /^sesame-[0-9a-f]{16}$/);
    const dir = path.join(xdg, dirs[0]!);
    const sock = path.join(dir, 'agent.sock');
    const st = fs.lstatSync(sock);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);

    const got = await sesame(['get', 'API_KEY'], { env: agentOnly(env) });
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.out, 'v-relocated\n');

    const human = await sesame(['agent', 'status'], { env: agentOnly(env) });
    assert.equal(human.code, 0, human.stderr);
    assert.ok(human.out.includes(sock), human.out);
    assert.match(human.out, /XDG_RUNTIME_DIR/);
    const js = await sesame(['agent', 'status', '--json'], { env: agentOnly(env) });
    assert.equal((JSON.parse(js.out) as { socket: string }).socket, sock);
    assert.ok(logOf(h).includes(`started: socket ${sock}`), 'the agent log names the socket');

    // Without XDG_RUNTIME_DIR a client looks elsewhere: the rule depends on the same inputs on both sides.
    await stopAgent({ ...h, env });
    await waitFor('the relocated socket to be removed', () => !fs.existsSync(sock));
  } finally {
    await stopAgent({ ...h, env });
    h.cleanup();
    fs.rmSync(xdg, { recursive: true, force: true });
  }
});

test('a home too long for a socket and no XDG_RUNTIME_DIR: agent start refuses and says what to do', async () => {
  const h = await longHome();
  try {
    const r = await sesame(['agent', 'start', '--background'], { env: h.env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /bytes long; Unix sockets allow at most 107/);
    assert.match(r.stderr, /shorter --home/);
    assert.match(r.stderr, /XDG_RUNTIME_DIR/);
    assert.match(r.stderr, /SESAME_AGENT_SOCK/);
  } finally {
    h.cleanup();
  }
});

for (const [what, mode] of [
  ['shared (0777)', 0o777],
  ['group-readable (0750)', 0o750],
] as const) {
  test(`a ${what} XDG_RUNTIME_DIR is refused for a relocated socket, with what to do`, async () => {
    const h = await longHome();
    const xdg = runtimeDir(mode);
    try {
      const r = await sesame(['agent', 'start', '--background'], { env: { ...h.env, XDG_RUNTIME_DIR: xdg } });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /XDG_RUNTIME_DIR \(.*\) is not private to you/);
      assert.match(r.stderr, /shorter --home/);
      assert.deepEqual(fs.readdirSync(xdg), [], 'nothing was created in it');
    } finally {
      h.cleanup();
      fs.rmSync(xdg, { recursive: true, force: true });
    }
  });
}

test('a missing XDG_RUNTIME_DIR is never created for a relocated socket', async () => {
  const h = await longHome();
  const xdg = path.join(runtimeDir(), 'absent');
  try {
    const r = await sesame(['agent', 'start', '--background'], { env: { ...h.env, XDG_RUNTIME_DIR: xdg } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /does not exist/);
    assert.equal(fs.existsSync(xdg), false);
  } finally {
    h.cleanup();
    fs.rmSync(path.dirname(xdg), { recursive: true, force: true });
  }
});

test('a short home keeps its socket in the home even when XDG_RUNTIME_DIR is set', async () => {
  const h = await initHome();
  const xdg = runtimeDir();
  const env = { ...h.env, XDG_RUNTIME_DIR: xdg };
  try {
    await startAgent(h, [], env);
    assert.ok(fs.lstatSync(path.join(h.dir, 'agent.sock')).isSocket());
    assert.deepEqual(fs.readdirSync(xdg), []);
  } finally {
    await stopAgent({ ...h, env });
    h.cleanup();
    fs.rmSync(xdg, { recursive: true, force: true });
  }
});
