/**
 * The agent's socket and lifecycle through the built CLI, in isolated homes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PASSPHRASE, initHome, runProcess, sesame, setSecret } from '../helpers/cli.js';
import { agentFiles, alive, ask, gone, logOf, sockOf, startAgent, startForeground, stopAgent, waitFor } from '../helpers/agent.js';

const mode = (p: string): number => fs.statSync(p).mode & 0o777;

test('the socket is 0600 in a 0700 home, and the pid, lock and log files are private', async () => {
  const h = await initHome();
  try {
    await startAgent(h);
    assert.ok(fs.lstatSync(sockOf(h)).isSocket());
    assert.equal(mode(sockOf(h)), 0o600);
    assert.equal(mode(h.dir), 0o700);
    for (const f of ['agent.pid', 'agent.lock', 'agent.log']) assert.equal(mode(path.join(h.dir, f)), 0o600, f);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a regular file at the socket path is refused and left exactly as it was', async () => {
  const h = await initHome();
  try {
    fs.writeFileSync(sockOf(h), 'not a socket', { mode: 0o600 });
    const r = await sesame(['agent', 'start', '--background'], { env: h.env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /exists and is not a socket; refusing to replace it/);
    assert.match(r.stderr, /hint: /);
    assert.equal(fs.readFileSync(sockOf(h), 'utf8'), 'not a socket');
    assert.equal(fs.existsSync(path.join(h.dir, 'agent.lock')), false, 'no lock left behind');
  } finally {
    h.cleanup();
  }
});

test('a stale socket (nobody listening) is replaced', async () => {
  const h = await initHome();
  try {
    // A process that listens and dies by SIGKILL leaves its socket file behind.
    const script = `require('net').createServer().listen(${JSON.stringify(sockOf(h))}, () => process.kill(process.pid, 'SIGKILL'))`;
    const dead = await runProcess(process.execPath, ['-e', script], { env: h.env });
    assert.equal(dead.signal, 'SIGKILL');
    assert.ok(fs.lstatSync(sockOf(h)).isSocket(), 'a dead socket file is there');
    await startAgent(h);
    assert.equal((await ask(sockOf(h), { v: 1, op: 'status' })).ok, true);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a second start leaves a live agent alone: exit 0 with a note naming its pid, before any passphrase is read', async () => {
  const h = await initHome();
  try {
    const pid = await startAgent(h);
    for (const args of [
      ['agent', 'start', '--background'],
      ['agent', 'start'],
    ]) {
      const env = { ...h.env, SESAME_PASSPHRASE_FILE: '/nonexistent/never-read' };
      const r = await sesame(args, { env });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`already running \\(pid ${pid}\\); nothing to do`));
    }
    assert.ok(alive(pid));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('an over-long socket path is explained, with how to shorten it', async () => {
  const h = await initHome();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-long-'));
  try {
    const long = path.join(dir, 'x'.repeat(120), 'agent.sock');
    const r = await sesame(['agent', 'start', '--background'], { env: { ...h.env, SESAME_AGENT_SOCK: long } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /socket path is \d+ bytes long; Unix sockets allow at most 107/);
    assert.match(r.stderr, /hint: set SESAME_AGENT_SOCK to a shorter path/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    h.cleanup();
  }
});

test('stop removes the socket, pid and lock files and records the reason', async () => {
  const h = await initHome();
  try {
    const pid = await startAgent(h);
    const r = await sesame(['agent', 'stop'], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(gone(agentFiles(h)), 'files are gone when stop returns');
    await waitFor('the agent process to exit', () => !alive(pid));
    assert.match(logOf(h), /stopped: stop/);
    const again = await sesame(['agent', 'stop'], { env: h.env });
    assert.equal(again.code, 0);
    assert.match(again.stderr, /no agent is running/);
  } finally {
    h.cleanup();
  }
});

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  test(`${sig} stops the agent, removes its files and records the reason`, async () => {
    const h = await initHome();
    try {
      const fg = await startForeground(h, ['--idle', '0']);
      assert.match(fg.stderr(), /listening on .*agent\.sock/);
      fg.child.kill(sig);
      const { code } = await fg.exited;
      assert.equal(code, 0);
      assert.ok(gone(agentFiles(h)));
      assert.match(logOf(h), new RegExp(`stopped: ${sig}`));
      assert.match(fg.stderr(), new RegExp(`stopped \\(${sig}\\)`));
    } finally {
      h.cleanup();
    }
  });
}

test('SIGHUP does not stop the agent', async () => {
  const h = await initHome();
  try {
    const pid = await startAgent(h);
    process.kill(pid, 'SIGHUP');
    await waitFor('the SIGHUP to be logged', () => /policy reloaded \(2 loaders\)/.test(logOf(h)));
    assert.equal((await ask(sockOf(h), { v: 1, op: 'status' })).ok, true);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

for (const kind of ['exception', 'rejection'] as const) {
  test(`a crash by an ${kind === 'exception' ? 'uncaught exception' : 'unhandled rejection'} wipes the key, removes every file, records it and exits 1`, async () => {
    const h = await initHome();
    const hook = path.join(path.dirname(h.dir), 'crash-hook.mjs');
    const boom = kind === 'exception' ? "throw new Error('boom')" : "Promise.reject(new Error('boom'))";
    fs.writeFileSync(
      hook,
      `import * as fs from 'node:fs';\nconst t = setInterval(() => { if (fs.existsSync(${JSON.stringify(path.join(h.dir, 'agent.pid'))})) { clearInterval(t); setTimeout(() => { ${boom}; }, 50); } }, 10);\n`,
    );
    try {
      const fg = await startForeground(h, ['--idle', '0'], ['--import', hook]);
      const { code } = await fg.exited;
      assert.equal(code, 1);
      assert.ok(gone(agentFiles(h)));
      assert.match(logOf(h), new RegExp(`stopped: crash: ${kind === 'exception' ? 'uncaught exception' : 'unhandled rejection'}`));
    } finally {
      h.cleanup();
    }
  });
}

test('the background start returns promptly and leaves nothing attached to the terminal', async () => {
  const h = await initHome();
  await setSecret(h, 'API', 'v');
  try {
    const t0 = Date.now();
    const r = await sesame(['agent', 'start', '--background'], { env: h.env, timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Date.now() - t0 < 8000, 'the command returned: the agent does not hold our stdout/stderr');
    assert.equal(r.out, '', 'nothing on stdout without --json');
    assert.match(r.stderr, /^sesame agent started \(pid \d+\) on .*agent\.sock; idle 15m, ttl 8h\n$/);
    const pid = Number(fs.readFileSync(path.join(h.dir, 'agent.pid'), 'utf8'));
    for (const fd of ['0', '1', '2']) assert.equal(fs.readlinkSync(`/proc/${pid}/fd/${fd}`), '/dev/null', `fd ${fd}`);
    const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
    assert.ok(!environ.includes('SESAME_PASSPHRASE'), 'no passphrase source in the agent environment');
    assert.ok(!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(PASSPHRASE), 'nothing secret on argv');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
