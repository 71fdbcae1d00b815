/**
 * The background key hand-off and the environment (issue #7): no fd carrying the key exists
 * in the child before it hardened (it connects to a socket afterwards), the parent sends
 * only to the peer the kernel says is exactly that child, the child accepts only its
 * parent, and neither agent keeps SESAME_PASSPHRASE in /proc/PID/environ. The CLI itself is
 * not dumpable while it holds a value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PASSPHRASE, initHome, setSecret } from '../helpers/cli.js';
import { startAgent, startForeground, stopAgent, waitFor } from '../helpers/agent.js';
import { stagedBin } from '../helpers/stage.js';
import { openKeyOffer, receiveKey } from '../../src/core/agent/handoff.js';
import { SecureKey } from '../../src/core/crypto/sodium.js';
import { SesameError } from '../../src/core/errors.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function needRoot(t: { skip(msg: string): void }, what: string): boolean {
  if (isRoot) return true;
  if (process.env.CI === 'true') throw new Error(`${what} needs root in CI`);
  t.skip(`${what} needs root`);
  return false;
}

function privateDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-handoff-test-'));
  fs.chmodSync(d, 0o700);
  return d;
}

/** Connects to `p` and collects every byte until the other end closes. */
function drain(p: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const c = net.createConnection({ path: p });
    c.on('data', (d) => chunks.push(d));
    c.on('error', reject);
    c.on('close', () => {
      resolve(Buffer.concat(chunks));
    });
  });
}

test('a process that is not the agent child connecting to the hand-off socket is refused and gets no key; the child gets it', async () => {
  const base = privateDir();
  const key = SecureKey.random();
  try {
    const offer = await openKeyOffer(base);
    assert.equal(fs.statSync(path.dirname(offer.path)).mode & 0o777, 0o700);
    // The "child": a process that connects once it is told the path, and prints what it got.
    const script = `const c=require('net').createConnection(process.argv[1]);const b=[];c.on('data',d=>b.push(d));c.on('close',()=>process.stdout.write(Buffer.concat(b).toString('hex')))`;
    const child = spawn(process.execPath, ['-e', `setTimeout(()=>{${script}},300)`, offer.path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let hex = '';
    child.stdout.on('data', (d: Buffer) => (hex += d.toString()));
    const childDone = new Promise<void>((r) =>
      child.on('close', () => {
        r();
      }),
    );
    const sent = offer.send(key, child.pid!);
    // Meanwhile, an impostor of the same uid (this test process) connects first.
    const stolen = await drain(offer.path);
    assert.equal(stolen.length, 0, 'the impostor received bytes');
    assert.equal(offer.refused, 1);
    await sent;
    await childDone;
    assert.equal(
      hex,
      key.use((k) => k.toString('hex')),
      'the child did not receive the key',
    );
    assert.ok(!fs.existsSync(path.dirname(offer.path)), 'the hand-off directory was not removed');
  } finally {
    key.dispose();
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('no fd that could carry the key exists in the detached agent before it has hardened (watched from outside while it starts)', async (t) => {
  if (!needRoot(t, "watching another uid's process while it starts")) return;
  const h = await initHome();
  try {
    // The agent runs as nobody; root watches it. A process of uid nobody that is still
    // dumpable owns its /proc/PID files; once PR_SET_DUMPABLE 0 took effect they are root's
    // (and stay so). So an fd seen *before* a stat showing uid nobody existed unhardened.
    const nobody = 65534;
    fs.chmodSync(path.dirname(h.dir), 0o755);
    chownR(h.dir, nobody);
    chownR(h.passFile, nobody);
    const ours = new Set(fdLinks('self').values());
    let stop = false;
    const seen = { snapshots: 0, unhardened: 0, withChannel: 0, violations: [] as string[] };
    const watch = (async () => {
      let pid: number | null = null;
      while (!stop) {
        pid ??= findServe(h.dir);
        if (pid !== null) {
          let links: Map<string, string>;
          let owner: number;
          try {
            links = fdLinks(pid);
            owner = fs.statSync(`/proc/${pid}/environ`).uid;
          } catch {
            break; // gone
          }
          seen.snapshots++;
          // Sockets, and pipes with one end here (Node's own pipes come in pairs): what could
          // carry a key into the child. Fd 3 is the ready report (a socketpair libuv made for
          // stdio 'pipe'): the child writes one line on it, the parent never writes.
          const all = [...links.values()];
          const channel = [...links].filter(([fd, l]) => fd !== '3' && (l.startsWith('socket:') || (l.startsWith('pipe:') && all.indexOf(l) === all.lastIndexOf(l) && !ours.has(l))));
          if (owner !== 0) seen.unhardened++;
          if (channel.length) {
            seen.withChannel++;
            if (owner !== 0) seen.violations.push(channel.map(([fd, l]) => `${fd}=${l}`).join(' '));
          }
          if (owner === 0 && seen.withChannel > 0) break;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const c = spawn(process.execPath, [stagedBin(), 'agent', 'start', '--background'], { env: h.env, uid: nobody, gid: nobody, stdio: ['ignore', 'ignore', 'pipe'], cwd: '/' });
      let err = '';
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.on('close', (code) => {
        resolve({ code, err });
      });
    });
    stop = true;
    await watch;
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(seen.violations, [], 'an fd that could carry the key existed in the child before it hardened');
    assert.ok(seen.snapshots > 0, 'the watcher never saw the child');
    if (process.env.SESAME_TEST_VERBOSE) t.diagnostic(JSON.stringify(seen));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

/** The pid of the detached agent (dist/sesame-agent.cjs) for `home`, or null. */
function findServe(home: string): number | null {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const cmd = readOr(`/proc/${d}/cmdline`);
    if (cmd.includes('sesame-agent.cjs\0') && cmd.includes(home)) return Number(d);
  }
  return null;
}

test('the detached agent refuses a hand-off socket held by anyone but its parent', async () => {
  const dir = privateDir();
  const p = path.join(dir, 'k');
  const srv = net.createServer((c) => c.end(Buffer.alloc(32, 7)));
  await new Promise<void>((r) => srv.listen(p, r));
  try {
    // The listener is this process; claim the parent is pid 1.
    assert.throws(
      () => receiveKey(p, 1),
      (e: unknown) => e instanceof SesameError && e.code === 'DENIED' && /not held by the starting process/.test(e.message),
    );
  } finally {
    srv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the detached agent never has SESAME_PASSPHRASE in /proc/PID/environ, nor any pipe left from its start', async (t) => {
  if (!needRoot(t, "reading a hardened agent's /proc/PID/environ")) return;
  const h = await initHome();
  try {
    const env: NodeJS.ProcessEnv = { ...h.env, SESAME_PASSPHRASE: PASSPHRASE };
    delete env.SESAME_PASSPHRASE_FILE;
    const pid = await startAgent(h, [], env);
    const environ = fs.readFileSync(`/proc/${pid}/environ`);
    assert.equal(environ.indexOf('SESAME_PASSPHRASE'), -1);
    assert.equal(environ.indexOf(PASSPHRASE), -1);
    assert.equal(fs.readFileSync(`/proc/${pid}/cmdline`).indexOf(PASSPHRASE), -1);
    // Node's own pipes come in pairs (both ends here); a pipe with one end here came from
    // outside. Apart from what this test process itself holds (and so passed down), none.
    // (Two looks 200 ms apart: a pair being created can show one end in a single look.)
    const ours = new Set(fdLinks('self').values());
    const lonePipes = (links: Map<string, string>): string[] => {
      const pipes = [...links.values()].filter((l) => l.startsWith('pipe:'));
      return pipes.filter((l) => pipes.indexOf(l) === pipes.lastIndexOf(l) && !ours.has(l));
    };
    const first = new Set(lonePipes(fdLinks(pid)));
    await new Promise((r) => setTimeout(r, 200));
    const links = fdLinks(pid);
    const lone = lonePipes(links).filter((l) => first.has(l));
    assert.deepEqual(lone, [], `fds: ${[...links].map(([fd, l]) => `${fd}=${l}`).join(' ')}`);
    assert.equal(links.get('3'), undefined, 'the ready-report pipe is still open');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a foreground agent started with SESAME_PASSPHRASE zeroes it in /proc/PID/environ once read', async (t) => {
  if (!needRoot(t, "reading a hardened agent's /proc/PID/environ")) return;
  const h = await initHome();
  const env: NodeJS.ProcessEnv = { ...h.env, SESAME_PASSPHRASE: PASSPHRASE };
  delete env.SESAME_PASSPHRASE_FILE;
  const fg = await startForeground({ ...h, env }, ['--idle', '0']);
  try {
    const environ = fs.readFileSync(`/proc/${fg.child.pid!}/environ`);
    assert.equal(environ.indexOf(PASSPHRASE), -1, 'the passphrase is still in the initial environment block');
    assert.equal(environ.indexOf(PASSPHRASE.slice(0, 8)), -1);
  } finally {
    fg.child.kill('SIGTERM');
    await fg.exited;
    h.cleanup();
  }
});

test('the CLI is not dumpable and has no core limit while it holds a value (waiting on stdin, as another uid)', async (t) => {
  if (!needRoot(t, 'running the CLI as nobody')) return;
  const h = await initHome();
  try {
    await setSecret(h, 'K', 'old');
    const nobody = 65534;
    fs.chmodSync(path.dirname(h.dir), 0o755);
    chownR(h.dir, nobody);
    chownR(h.passFile, nobody);
    const child = spawn(process.execPath, [stagedBin(), 'set', 'K'], { env: h.env, uid: nobody, gid: nobody, stdio: ['pipe', 'ignore', 'pipe'], cwd: '/' });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) =>
      child.on('close', (c) => {
        r(c);
      }),
    );
    const pid = child.pid!;
    // A process of uid nobody that is dumpable owns its /proc/PID files; a hardened one's are root's.
    await waitFor('the CLI to start', () => /Max core file size\s+0\s+0/.test(readOr(`/proc/${pid}/limits`)) || child.exitCode !== null, 10_000);
    assert.equal(child.exitCode, null, err);
    assert.match(readOr(`/proc/${pid}/limits`), /Max core file size\s+0\s+0/);
    assert.equal(fs.statSync(`/proc/${pid}/environ`).uid, 0, 'the CLI is dumpable (its /proc files belong to nobody)');
    assert.match(readOr(`/proc/${pid}/status`), new RegExp(`^Uid:\\s+${nobody}\\s`, 'm'), 'sanity: the process runs as nobody');
    child.stdin.end('new\n');
    assert.equal(await exited, 0, err);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

function fdLinks(pid: number | 'self'): Map<string, string> {
  const out = new Map<string, string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.set(fd, fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

function readOr(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

function chownR(p: string, uid: number): void {
  fs.chownSync(p, uid, uid);
  if (fs.lstatSync(p).isDirectory()) for (const n of fs.readdirSync(p)) chownR(path.join(p, n), uid);
}

test('agent start --background leaves no hand-off directory behind', async () => {
  const h = await initHome();
  try {
    await setSecret(h, 'K', 'v');
    await startAgent(h);
    const left = fs.readdirSync(h.dir).filter((n) => n.startsWith('.sesame-handoff-'));
    assert.deepEqual(left, [], 'a hand-off directory was left in the home');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
