/**
 * How read commands reach secrets: through a running agent (no prompt, no Argon2id, no
 * native modules), else a direct unlock; --no-agent bypasses; locked without a terminal
 * is exit 3. Also what the agent does when the vault changes under it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PASSPHRASE, initHome, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { alive, logOf, startAgent, stopAgent } from '../helpers/agent.js';
import { homePaths } from '../../src/core/paths.js';
import { mutateVault, unlockVault } from '../../src/core/vault/store.js';

/** The home's environment with no passphrase source at all: only an agent can answer. */
const locked = (h: TestHome): NodeJS.ProcessEnv => ({ ...h.env, SESAME_PASSPHRASE_FILE: '' });

test('get, env and run go through the agent with no passphrase source', async () => {
  const h = await initHome();
  await setSecret(h, 'API', 'it\'s "quoted"\nline2');
  await setSecret(h, 'DB_URL', 'postgres://x');
  try {
    await startAgent(h);
    const env = locked(h);
    const g = await sesame(['get', 'API'], { env });
    assert.equal(g.code, 0, g.stderr);
    assert.equal(g.out, 'it\'s "quoted"\nline2\n');
    assert.equal(g.stderr, '');
    const e = await sesame(['env', '--format', 'json', '--only', 'DB_URL,NOPE'], { env });
    assert.deepEqual(JSON.parse(e.out), { DB_URL: 'postgres://x' });
    assert.match(e.stderr, /missing in project default: NOPE/);
    const r = await sesame(['run', '--', 'sh', '-c', 'printf %s "$DB_URL"'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, 'postgres://x');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test("the client path never loads libsodium (koffi only, for the server's peer credentials)", async () => {
  const h = await initHome();
  await setSecret(h, 'API', 'v');
  const guard = path.join(path.dirname(h.dir), 'no-native.cjs');
  fs.writeFileSync(guard, "const d = process.dlopen; process.dlopen = (m, f) => { if (!/koffi/.test(f)) throw new Error('native module loaded: ' + f); return d(m, f); };\n");
  try {
    await startAgent(h);
    const env = { ...locked(h), NODE_OPTIONS: `--require ${guard}` };
    for (const args of [['get', 'API'], ['get', 'API', '--json'], ['get', 'API', '-p', 'default'], ['env'], ['agent', 'status']]) {
      const r = await sesame(args, { env });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    const direct = await sesame(['get', 'API', '--no-agent'], { env: { ...h.env, NODE_OPTIONS: `--require ${guard}` } });
    assert.notEqual(direct.code, 0, 'control: a direct unlock does need libsodium');
    assert.match(direct.stderr, /native module loaded|Cannot load addon/);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('with no agent, get falls back to a direct unlock', async () => {
  const h = await initHome();
  await setSecret(h, 'API', 'direct');
  try {
    const r = await sesame(['get', 'API'], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, 'direct\n');
    assert.equal(fs.existsSync(path.join(h.dir, 'agent.sock')), false);
  } finally {
    h.cleanup();
  }
});

test('--no-agent and SESAME_NO_AGENT=1 bypass a running agent', async () => {
  const h = await initHome();
  await setSecret(h, 'API', 'v');
  try {
    await startAgent(h);
    for (const [args, extra] of [
      [['get', 'API', '--no-agent'], {}],
      [['get', 'API'], { SESAME_NO_AGENT: '1' }],
    ] as const) {
      const r = await sesame([...args], { env: { ...locked(h), ...extra } });
      assert.equal(r.code, 3, 'bypassing the agent leaves no way to unlock without a terminal');
      const withFile = await sesame([...args], { env: { ...h.env, ...extra } });
      assert.equal(withFile.out, 'v\n', 'and with a passphrase file the direct path works');
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('locked, non-interactive and no agent: exit 3 with the JSON error', async () => {
  const h = await initHome();
  await setSecret(h, 'API', 'v');
  try {
    const r = await sesame(['get', 'API', '--json'], { env: locked(h) });
    assert.equal(r.code, 3);
    const e = JSON.parse(r.out) as { error: string; code: string; message: string; hint: string };
    assert.equal(e.code, 'LOCKED');
    assert.equal(e.error, 'locked');
    assert.match(e.hint, /agent start/);
  } finally {
    h.cleanup();
  }
});

test('a missing key through the agent is exit 4 with the same message as a direct read', async () => {
  const h = await initHome();
  try {
    const direct = await sesame(['get', 'NOPE', '--json'], { env: h.env });
    const directText = await sesame(['get', 'NOPE'], { env: h.env });
    await startAgent(h);
    const via = await sesame(['get', 'NOPE', '--json'], { env: locked(h) });
    assert.equal(via.code, 4);
    assert.deepEqual(JSON.parse(via.out), JSON.parse(direct.out));
    const viaText = await sesame(['get', 'NOPE'], { env: locked(h) }); // the fast path
    assert.deepEqual([viaText.code, viaText.out, viaText.stderr], [directText.code, directText.out, directText.stderr]);
    const badProject = await sesame(['get', 'K', '-p', '../x'], { env: locked(h) });
    const badProjectDirect = await sesame(['get', 'K', '-p', '../x', '--no-agent'], { env: h.env });
    assert.deepEqual([badProject.code, badProject.stderr], [badProjectDirect.code, badProjectDirect.stderr]);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('the agent sees vault changes without a restart', async () => {
  const h = await initHome();
  await setSecret(h, 'API', 'old');
  try {
    await startAgent(h);
    assert.equal((await sesame(['get', 'API'], { env: locked(h) })).out, 'old\n');
    await setSecret(h, 'API', 'new');
    assert.equal((await sesame(['get', 'API'], { env: locked(h) })).out, 'new\n');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a re-initialised vault: reads fail with "the vault key changed; restart the agent", the agent stays up', async () => {
  const h = await initHome();
  await setSecret(h, 'API', 'v');
  try {
    const pid = await startAgent(h);
    const init = await sesame(['init', '--force', '--yes', '--kdf-memory', '8', '--kdf-passes', '1'], { env: h.env });
    assert.equal(init.code, 0, init.stderr);
    const r = await sesame(['get', 'API'], { env: locked(h) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: the vault key changed; restart the agent\nhint: /);
    assert.ok(alive(pid));
    assert.equal((await sesame(['agent', 'status'], { env: h.env })).code, 0);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a passphrase change alone does not disturb the agent', async () => {
  const h = await initHome();
  await setSecret(h, 'API', 'same-master-key');
  try {
    await startAgent(h);
    const paths = homePaths(h.dir);
    const v = unlockVault(paths, Buffer.from(PASSPHRASE));
    try {
      mutateVault(paths, v.master, {}, (u) => {
        u.changePassphrase(Buffer.from('a brand new passphrase'), { opslimit: 1, memlimit: 8 * 1024 * 1024 });
      });
    } finally {
      v.dispose();
    }
    const direct = await sesame(['get', 'API', '--no-agent'], { env: h.env });
    assert.equal(direct.code, 6, 'control: the old passphrase no longer opens the vault');
    const r = await sesame(['get', 'API'], { env: locked(h) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, 'same-master-key\n');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('agent status: versioned JSON, exit 0 running and 3 not running; status --json carries the same block', async () => {
  const h = await initHome();
  try {
    const down = await sesame(['agent', 'status', '--json'], { env: h.env });
    assert.equal(down.code, 3);
    const d = JSON.parse(down.out) as Record<string, unknown>;
    assert.deepEqual([d.schema, d.running, d.accessible, d.pid, d.started_at], [1, false, false, null, null]);
    const human = await sesame(['agent', 'status'], { env: h.env });
    assert.equal(human.code, 3);
    assert.match(human.out, /not running/);
    const pid = await startAgent(h, ['--idle', '5m', '--ttl', '2h']);
    const up = await sesame(['agent', 'status', '--json'], { env: h.env });
    assert.equal(up.code, 0);
    const u = JSON.parse(up.out) as Record<string, unknown>;
    for (const k of ['schema', 'running', 'accessible', 'pid', 'socket', 'project', 'idle_remaining_s', 'absolute_remaining_s', 'started_at', 'version', 'protocol']) assert.ok(k in u, k);
    assert.deepEqual([u.schema, u.running, u.accessible, u.pid, u.socket, u.project, u.protocol], [1, true, true, pid, path.join(h.dir, 'agent.sock'), 'default', 2]);
    assert.ok((u.idle_remaining_s as number) <= 300 && (u.idle_remaining_s as number) > 290);
    assert.ok((u.absolute_remaining_s as number) <= 7200 && (u.absolute_remaining_s as number) > 7100);
    const s = JSON.parse((await sesame(['status', '--json'], { env: h.env })).out) as { agent: Record<string, unknown> };
    assert.deepEqual(Object.keys(s.agent), Object.keys(u));
    assert.equal(s.agent.pid, pid);
    assert.ok(!logOf(h).includes(PASSPHRASE));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
