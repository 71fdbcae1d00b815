/**
 * The agent process's Node-specific doors (issue #7), through the built CLI and a real
 * agent: SIGUSR1 never opens an inspector, every catchable terminating signal goes through
 * the one shutdown, debugger options and tracers are refused, the hardening is reported,
 * and the detached agent's heap is capped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, initHome, requireTool, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { agentFiles, alive, gone, logOf, sockOf, startAgent, startForeground, stopAgent, waitFor, sleep } from '../helpers/agent.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Inodes of the TCP sockets in LISTEN state in our network namespace. */
function tcpListenInodes(): Set<string> {
  const out = new Set<string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A') out.add(cols[9]!); // st == TCP_LISTEN; inode
    }
  }
  return out;
}

/** Socket inodes among /proc/PID/fd (readable by root, or while the process is dumpable). */
function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

function canReadFds(pid: number): boolean {
  try {
    fs.readdirSync(`/proc/${pid}/fd`);
    return true;
  } catch {
    return false;
  }
}

/** Skips (outside CI) when the test cannot see a non-dumpable process's fds (needs root). */
function needFds(t: { skip(msg: string): void }, pid: number): boolean {
  if (canReadFds(pid)) return true;
  if (process.env.CI === 'true') throw new Error("reading a hardened agent's /proc/PID/fd needs root in CI");
  t.skip("needs root to read the hardened agent's /proc/PID/fd");
  return false;
}

async function listensOnTcp(pid: number): Promise<string[]> {
  const listening = tcpListenInodes();
  return [...socketInodes(pid)].filter((i) => listening.has(i));
}

async function withHome(fn: (h: TestHome) => Promise<void>): Promise<void> {
  const h = await initHome();
  try {
    await fn(h);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
}

test('SIGUSR1 never opens an inspector in the detached agent: no TCP port listens for it, it logs the signal and still serves', async (t) => {
  await withHome(async (h) => {
    await setSecret(h, 'K', 'v-usr1');
    const pid = await startAgent(h);
    if (!needFds(t, pid)) return;
    process.kill(pid, 'SIGUSR1');
    process.kill(pid, 'SIGUSR1');
    await waitFor('the agent to log SIGUSR1', () => /SIGUSR1 received: ignored/.test(logOf(h)));
    await sleep(300); // an inspector would be listening by now
    assert.deepEqual(await listensOnTcp(pid), [], 'the agent has a listening TCP socket');
    assert.ok(alive(pid));
    const r = await sesame(['get', 'K'], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, 'v-usr1\n');
  });
});

test('SIGUSR1 never opens an inspector in a foreground agent either', async (t) => {
  await withHome(async (h) => {
    const fg = await startForeground(h, ['--idle', '0']);
    const pid = fg.child.pid!;
    try {
      if (!needFds(t, pid)) return;
      process.kill(pid, 'SIGUSR1');
      await waitFor('the agent to log SIGUSR1', () => /SIGUSR1 received: ignored/.test(logOf(h)));
      await sleep(300);
      assert.deepEqual(await listensOnTcp(pid), []);
      assert.doesNotMatch(fg.stderr(), /Debugger listening/);
      assert.equal((await sesame(['agent', 'status'], { env: h.env })).code, 0);
    } finally {
      process.kill(pid, 'SIGTERM');
      await fg.exited;
    }
  });
});

/** Every catchable signal whose default action ends the process (man 7 signal), minus the fault signals. */
const TERMINATING = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGTRAP', 'SIGABRT', 'SIGUSR2', 'SIGALRM', 'SIGSTKFLT', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGIO', 'SIGPWR', 'SIGSYS'] as const;

test('every catchable terminating signal goes through the one shutdown: socket, pid and lock removed, the signal logged', async () => {
  await withHome(async (h) => {
    for (const sig of TERMINATING) {
      const pid = await startAgent(h);
      process.kill(pid, sig);
      await waitFor(`the agent to exit on ${sig}`, () => !alive(pid));
      assert.ok(
        gone(agentFiles(h)),
        `${sig} left ${agentFiles(h)
          .filter((f) => fs.existsSync(f))
          .map((f) => path.basename(f))
          .join(', ')}`,
      );
      assert.match(logOf(h), new RegExp(`pid=${pid} stopped: ${sig}\\b`), `the log does not name ${sig}`);
    }
  });
});

test('the detached agent runs with a capped V8 heap', async () => {
  await withHome(async (h) => {
    const pid = await startAgent(h);
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.ok(argv.includes('--max-old-space-size=256'), argv.join(' '));
  });
});

for (const where of ['node flags', 'NODE_OPTIONS'] as const) {
  test(`refuses to start with --inspect-port in the ${where} (exit 1, naming the option), before asking for a passphrase`, async () => {
    const h = await initHome();
    try {
      const env = where === 'NODE_OPTIONS' ? { ...h.env, NODE_OPTIONS: '--inspect-port=0' } : h.env;
      const flags = where === 'node flags' ? ['--inspect-port=0'] : [];
      for (const extra of [[], ['--background']]) {
        const r = await runProcess(process.execPath, [...flags, BIN, 'agent', 'start', ...extra], { env });
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /--inspect-port/);
        assert.ok(gone(agentFiles(h)));
      }
    } finally {
      h.cleanup();
    }
  });
}

test('refuses to start under a tracer unless --allow-debugger', async (t) => {
  if (!requireTool(t, 'strace', 'strace')) return;
  await withHome(async (h) => {
    const r = await runProcess('strace', ['-f', '-o', '/dev/null', process.execPath, BIN, 'agent', 'start', '--idle', '0'], { env: h.env, timeoutMs: 30_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /TracerPid \d+/);
    assert.match(r.stderr, /--allow-debugger/);
    assert.ok(gone(agentFiles(h)));
    const ok = await runProcess('strace', ['-o', '/dev/null', process.execPath, BIN, 'agent', 'start', '--background', '--allow-debugger', '--json'], { env: h.env, timeoutMs: 30_000 });
    assert.equal(ok.code, 0, ok.stderr);
  });
});

test('agent status --json reports the hardening: not dumpable, no core, inspector disabled, no tracer', async () => {
  await withHome(async (h) => {
    await startAgent(h);
    const r = await sesame(['agent', 'status', '--json'], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    const hd = (JSON.parse(r.out) as { hardening: Record<string, unknown> }).hardening;
    assert.ok(hd, r.out);
    assert.deepEqual(Object.keys(hd).sort(), ['core_limit', 'dumpable', 'inspector_disabled', 'key_mlocked', 'ptrace_scope', 'tracer_pid_at_start']);
    assert.equal(hd.dumpable, 0);
    assert.equal(hd.core_limit, 0);
    assert.equal(hd.inspector_disabled, true);
    assert.equal(hd.tracer_pid_at_start, 0);
    assert.equal(typeof hd.key_mlocked, 'boolean');
    if (isRoot) assert.equal(hd.key_mlocked, true, 'root can always mlock');
    assert.ok(hd.ptrace_scope === null || typeof hd.ptrace_scope === 'number');
    const human = await sesame(['agent', 'status'], { env: h.env });
    assert.match(human.out, /hardening: dumpable 0, core limit 0/);
  });
});

test("the agent's socket path is the only thing it listens on", async (t) => {
  await withHome(async (h) => {
    const pid = await startAgent(h);
    if (!needFds(t, pid)) return;
    assert.deepEqual(await listensOnTcp(pid), []);
    assert.ok(fs.lstatSync(sockOf(h)).isSocket());
  });
});
