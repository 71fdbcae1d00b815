/**
 * Daemon-mediated exec (issue 10) against a real agent started by the built CLI: the `exec`
 * and `check` ops on the owner socket and on profile sockets, spoken raw (v2 frames).
 * Promises: the secret is in the child's environment and never comes back unmasked; the
 * allowlist is enforced on the agent's own resolution (PATH tricks, relative names, swapped
 * symlinks fail); loader variables and SESAME_* never reach the child; codes and signals
 * come back as they were; SIGINT reaches the child; a disconnect, a timeout and agent stop
 * kill the whole process group; a pty keeps colours and isatty and is still masked; check
 * runs and audits nothing; the audit records the program and an argv hash, never argv.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sesame, type TestHome } from '../helpers/cli.js';
import { startAgent, stopAgent, waitFor } from '../helpers/agent.js';
import { connect, encodings, execHome, once, ownerSock, profileSock, running } from '../helpers/exec-frames.js';
import { argvHash } from '../../src/core/audit/record.js';

const SECRET = 'zq7-Kx9wPm4vR2tY8bN3-secret';
const SH = fs.realpathSync('/bin/sh');
let nextId = 1;
const id = (): number => nextId++;

/** A profile that may run /bin/sh (and so anything sh runs itself: the allowlist names programs the agent starts). */
const BOX = `projects = ["default"]\nkeys = ["*"]\ncommands = ["/bin/sh", "/usr/bin/env"]\nenv = { PROFILE_VAR = "from-profile" }\n`;

async function home(prefix: string, profiles: Record<string, string> = { box: BOX }, extraEnv: NodeJS.ProcessEnv = {}): Promise<TestHome> {
  const h = await execHome(prefix, { API_TOKEN: SECRET, SHORT: 'abc' }, profiles);
  await startAgent(h, [], { ...h.env, ...extraEnv });
  return h;
}

async function done(h: TestHome): Promise<void> {
  await stopAgent(h);
  h.cleanup();
}

function assertNoLeak(out: Buffer, where: string): void {
  const s = out.toString('latin1');
  for (const e of encodings(SECRET)) assert.ok(!s.includes(e), `${where}: ${e} leaked`);
}

test('exec runs with the secret in the child environment and never returns it unmasked', async () => {
  const h = await home('sesame-exec-mask-');
  try {
    const script = [
      `[ "$API_TOKEN" = '${SECRET}' ] && echo child-has-the-value`,
      'printf %s "$API_TOKEN"; echo',
      'printf %s "$API_TOKEN" | base64',
      'printf %s "$API_TOKEN" | od -An -tx1 | tr -d " \\n"; echo',
      'printf %s "$API_TOKEN" >&2; echo >&2',
      // split across writes, with a pause so the halves arrive in different chunks
      'v="$API_TOKEN"; printf %s "${v%????????????}"; sleep 0.2; printf "%s\\n" "${v#"${v%????????????}"}"',
    ].join('\n');
    for (const sock of [ownerSock(h), profileSock(h, 'box')]) {
      const n = id();
      const r = await once(sock, { id: n, op: 'exec', project: 'default', argv: ['sh', '-c', script], cwd: '/' });
      assert.equal(r.last.frame, 'exit', JSON.stringify(r.last));
      assert.equal(r.last.code, 0);
      assert.match(r.out.toString(), /child-has-the-value/);
      assert.ok(r.out.toString().includes('<sesame:API_TOKEN>'), r.out.toString());
      assertNoLeak(r.out, 'stdout');
      assertNoLeak(r.err, 'stderr');
      assert.ok(((r.last.masked as Record<string, number>).API_TOKEN ?? 0) >= 4, JSON.stringify(r.last));
    }
  } finally {
    await done(h);
  }
});

test('exec of a program outside the profile allowlist is denied and runs nothing', async () => {
  const h = await home('sesame-exec-allow-');
  const marker = path.join(h.dir, '..', 'touched');
  try {
    const r = await once(profileSock(h, 'box'), { id: id(), op: 'exec', project: 'default', argv: ['touch', marker], cwd: '/' });
    assert.equal(r.last.frame, 'error');
    assert.deepEqual((r.last.error as { code: string; detail: unknown }).code, 'DENIED');
    assert.deepEqual((r.last.error as { detail: unknown }).detail, { reason: 'not_allowed_command' });
    assert.ok(!fs.existsSync(marker), 'nothing ran');
    // The owner socket has no allowlist.
    const o = await once(ownerSock(h), { id: id(), op: 'exec', project: 'default', argv: ['touch', marker], cwd: '/' });
    assert.equal(o.last.code, 0, JSON.stringify(o.last));
    assert.ok(fs.existsSync(marker));
    const audit = fs.readFileSync(path.join(h.dir, 'audit.jsonl'), 'utf8');
    assert.match(audit, /"event":"exec","outcome":"denied","reason":"not_allowed_command","via":"profile:box"/);
  } finally {
    await done(h);
  }
});

test('a PATH-spoofed, relative or symlink-swapped allowlisted name cannot smuggle in another binary', async () => {
  const tools = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-exec-tools-'));
  const link = path.join(tools, 'tool');
  fs.symlinkSync('/bin/echo', link);
  const evil = path.join(tools, 'evil');
  fs.mkdirSync(evil);
  fs.writeFileSync(path.join(evil, 'sh'), '#!/bin/sh\necho EVIL\n', { mode: 0o755 });
  fs.writeFileSync(path.join(evil, 'only-here'), '#!/bin/sh\necho EVIL\n', { mode: 0o755 });
  const h = await home('sesame-exec-spoof-', { box: `projects = ["default"]\nkeys = ["*"]\ncommands = ["${link}", "/bin/sh"]\n` });
  try {
    const sock = profileSock(h, 'box');
    const ok = await once(sock, { id: id(), op: 'exec', project: 'default', argv: [link, 'hello'], cwd: '/' });
    assert.equal(ok.out.toString(), 'hello\n', 'the allowlisted symlink runs what it named at load');
    // Swap the symlink for another program: its real path was never pinned.
    fs.unlinkSync(link);
    fs.symlinkSync('/usr/bin/touch', link);
    const swapped = await once(sock, { id: id(), op: 'exec', project: 'default', argv: [link, path.join(tools, 'pwned')], cwd: '/' });
    assert.equal((swapped.last.error as { detail: { reason: string } }).detail.reason, 'not_allowed_command');
    assert.ok(!fs.existsSync(path.join(tools, 'pwned')));
    // A name is resolved on the agent's PATH, never the caller's: `sh` is /bin/sh, not evil/sh.
    const c = await sesame(['run', '--', 'sh', '-c', 'echo real-sh'], { env: { ...h.env, PATH: `${evil}:${h.env.PATH ?? ''}`, SESAME_AGENT_SOCK: sock } });
    assert.equal(c.out, 'real-sh\n', c.stderr);
    // A name that exists only on the caller's PATH is not found; a relative path is refused.
    const only = await once(sock, { id: id(), op: 'exec', project: 'default', argv: ['only-here'], cwd: evil });
    assert.equal((only.last.error as { code: string }).code, 'NOT_FOUND');
    const rel = await once(sock, { id: id(), op: 'exec', project: 'default', argv: ['./sh'], cwd: evil });
    assert.equal((rel.last.error as { code: string }).code, 'NOT_FOUND');
  } finally {
    await done(h);
    fs.rmSync(tools, { recursive: true, force: true });
  }
});

test('loader variables and SESAME_* from the caller, the agent and the profile never reach the child', async () => {
  const hostile = {
    BASH_ENV: '/tmp/x',
    ENV: '/tmp/x',
    NODE_OPTIONS: '--no-deprecation' /* harmless to the agent and the CLI, which are node too */,
    PYTHONSTARTUP: '/tmp/x',
    PERL5OPT: '-d',
    RUBYOPT: '-r/tmp/x',
    LD_LIBRARY_PATH: '/tmp/x',
    SESAME_LEAK: 'x',
  };
  const h = await home('sesame-exec-env-', { box: BOX }, hostile);
  try {
    for (const sock of [ownerSock(h), profileSock(h, 'box')]) {
      const r = await once(sock, { id: id(), op: 'exec', project: 'default', argv: ['env'], cwd: '/' });
      const names = r.out
        .toString()
        .split('\n')
        .map((l) => l.split('=')[0]);
      for (const n of Object.keys(hostile)) assert.ok(!names.includes(n), `${n} reached the child`);
      assert.ok(!names.some((n) => n?.startsWith('SESAME_')), 'no SESAME_* in the child');
      assert.ok(!names.some((n) => n?.startsWith('LD_')), 'no LD_* in the child');
      assert.ok(r.out.toString().includes('PATH=/usr/local/bin:/usr/bin:/bin\n'), 'PATH is the fixed exec PATH');
      assert.ok(names.includes('API_TOKEN'));
    }
    const p = await once(profileSock(h, 'box'), { id: id(), op: 'exec', project: 'default', argv: ['env'], cwd: '/' });
    assert.match(p.out.toString(), /^PROFILE_VAR=from-profile$/m, 'the profile env is merged');
    // Through `sesame run` on the profile socket, the caller's own hostile environment stays behind too.
    const c = await sesame(['run', '--', 'env'], { env: { ...h.env, ...hostile, SESAME_AGENT_SOCK: profileSock(h, 'box') } });
    assert.equal(c.code, 0, c.stderr);
    for (const n of [...Object.keys(hostile), 'SESAME_AGENT_SOCK', 'SESAME_HOME']) assert.ok(!c.out.split('\n').some((l) => l.startsWith(`${n}=`)), `${n} reached the child through run`);
    // A profile cannot even set one: such a profile is refused at load, naming the line.
    fs.writeFileSync(path.join(h.dir, 'profiles', 'evil.toml'), 'projects = ["default"]\nkeys = ["*"]\ncommands = ["/usr/bin/env"]\nenv = { LD_PRELOAD = "/tmp/x.so" }\n', { mode: 0o600 });
    const chk = await sesame(['profile', 'check'], { env: h.env });
    assert.notEqual(chk.code, 0);
    assert.match(chk.stderr + chk.out, /LD_PRELOAD/);
    fs.unlinkSync(path.join(h.dir, 'profiles', 'evil.toml'));
  } finally {
    await done(h);
  }
});

test('exit codes and signals are preserved: 42, SIGTERM, SIGKILL', async () => {
  const h = await home('sesame-exec-codes-');
  try {
    const sock = profileSock(h, 'box');
    const run = async (s: string): Promise<Record<string, unknown>> => (await once(sock, { id: id(), op: 'exec', project: 'default', argv: ['sh', '-c', s], cwd: '/' })).last;
    assert.equal((await run('exit 42')).code, 42);
    assert.equal((await run('kill -TERM $$')).signal, 'SIGTERM');
    assert.equal((await run('kill -KILL $$')).signal, 'SIGKILL');
    // Through `sesame run`: the same status (a signal is re-raised, so the shell sees 128+N).
    const env = { ...h.env, SESAME_AGENT_SOCK: sock };
    assert.equal((await sesame(['run', '--', 'sh', '-c', 'exit 42'], { env })).code, 42);
    const t = await sesame(['run', '--', 'sh', '-c', 'kill -TERM $$'], { env });
    assert.equal(t.signal, 'SIGTERM', `code ${String(t.code)} ${t.stderr}`);
    const k = await sesame(['run', '--', 'sh', '-c', 'kill -KILL $$'], { env });
    assert.equal(k.signal, 'SIGKILL', `code ${String(k.code)} ${k.stderr}`);
  } finally {
    await done(h);
  }
});

test('Ctrl-C (SIGINT) reaches the child', async () => {
  const h = await home('sesame-exec-sigint-');
  try {
    const c = await connect(profileSock(h, 'box'));
    const n = id();
    c.send({ id: n, op: 'exec', project: 'default', argv: ['sh', '-c', 'trap "echo got-int; exit 7" INT; echo ready; while :; do sleep 0.05; done'], cwd: '/' });
    await c.until(() => c.output(n).toString().includes('ready'));
    c.send({ id: id(), op: 'signal', ref: n, signal: 'SIGINT' });
    const frames = await c.final(n);
    const last = frames[frames.length - 1]!;
    assert.equal(last.code, 7, JSON.stringify(frames));
    assert.match(c.output(n).toString(), /got-int/);
    c.close();
    // A control op for an exec that is not in flight is an error, not a crash.
    const stray = await once(profileSock(h, 'box'), { id: id(), op: 'signal', ref: 999, signal: 'SIGINT' });
    assert.equal(stray.last.frame, 'error');
  } finally {
    await done(h);
  }
});

/** Starts an exec whose grandchild ignores SIGHUP and SIGTERM; returns the connection and both pids. */
async function stubborn(h: TestHome, extra: Record<string, unknown> = {}): Promise<{ c: Awaited<ReturnType<typeof connect>>; n: number; child: number; grandchild: number }> {
  const c = await connect(profileSock(h, 'box'));
  const n = id();
  const script = 'sh -c \'trap "" HUP TERM; echo gc=$$; exec sleep 1000\' & trap "" HUP; echo child=$$; wait';
  c.send({ id: n, op: 'exec', project: 'default', argv: ['sh', '-c', script], cwd: '/', ...extra });
  await c.until(() => /gc=\d+/.test(c.output(n).toString()) && /child=\d+/.test(c.output(n).toString()));
  const out = c.output(n).toString();
  const child = Number(/child=(\d+)/.exec(out)![1]);
  const grandchild = Number(/gc=(\d+)/.exec(out)![1]);
  assert.ok(running(child) && running(grandchild));
  return { c, n, child, grandchild };
}

test('a client that disconnects kills the whole process group, a grandchild ignoring SIGHUP and SIGTERM included', async () => {
  const h = await home('sesame-exec-disc-');
  try {
    const { c, child, grandchild } = await stubborn(h);
    c.close();
    await waitFor('the child and the grandchild to be killed', () => !running(child) && !running(grandchild), 5000);
  } finally {
    await done(h);
  }
});

test('agent stop kills the whole process group of every exec', async () => {
  const h = await home('sesame-exec-stop-');
  try {
    const { c, child, grandchild } = await stubborn(h);
    const s = await sesame(['agent', 'stop'], { env: h.env });
    assert.equal(s.code, 0, s.stderr);
    await waitFor('the child and the grandchild to be killed', () => !running(child) && !running(grandchild), 5000);
    c.close();
  } finally {
    h.cleanup();
  }
});

test('a profile whose ttl runs out kills the process groups of the execs it started', async () => {
  const h = await home('sesame-exec-pttl-', { box: `${BOX}ttl = "2s"\n` });
  try {
    const { c, child, grandchild } = await stubborn(h);
    await waitFor('the profile ttl to kill the child and the grandchild', () => !running(child) && !running(grandchild), 10_000);
    c.close();
  } finally {
    await done(h);
  }
});

test('a per-exec timeout kills the whole process group and says so', async () => {
  const h = await home('sesame-exec-timeout-');
  try {
    const { c, n, grandchild } = await stubborn(h, { timeout_s: 1 });
    const frames = await c.final(n, 10_000);
    const last = frames[frames.length - 1]!;
    assert.equal(last.frame, 'exit');
    assert.equal(last.timed_out, true);
    assert.ok(typeof last.signal === 'string', JSON.stringify(last));
    await waitFor('the grandchild to be killed', () => !running(grandchild), 5000);
    c.close();
  } finally {
    await done(h);
  }
});

test('masking holds in a pseudo-terminal with colours, and the child sees a terminal of the asked size', async () => {
  const h = await home('sesame-exec-pty-');
  try {
    const script = [
      '[ -t 0 ] && [ -t 1 ] && echo is-a-tty',
      'stty size',
      'printf "\\033[31m%s\\033[0m\\n" "$API_TOKEN"',
      'v="$API_TOKEN"; printf "\\033[1m%s" "${v%??????????}"; sleep 0.2; printf "%s\\033[0m\\n" "${v#"${v%??????????}"}"',
    ].join('\n');
    const c = await connect(profileSock(h, 'box'));
    const n = id();
    c.send({ id: n, op: 'exec', project: 'default', argv: ['sh', '-c', script], cwd: '/', pty: { rows: 33, cols: 101 } });
    const frames = await c.final(n);
    c.close();
    const last = frames[frames.length - 1]!;
    assert.equal(last.code, 0, JSON.stringify(frames));
    assert.ok(
      frames.filter((f) => f.frame === 'chunk').every((f) => f.stream === 'stdout'),
      'a pty has one stream',
    );
    const out = c.output(n).toString();
    assert.match(out, /is-a-tty/);
    assert.match(out, /33 101/);
    assert.ok(out.includes('\x1b[31m<sesame:API_TOKEN>\x1b[0m'), JSON.stringify(out));
    assertNoLeak(c.output(n), 'pty output');
  } finally {
    await done(h);
  }
});

test('a resize reaches the child on its pty', async () => {
  const h = await home('sesame-exec-resize-');
  try {
    const c = await connect(profileSock(h, 'box'));
    const n = id();
    c.send({ id: n, op: 'exec', project: 'default', argv: ['sh', '-c', 'trap "stty size; exit 3" WINCH; echo ready; while :; do sleep 0.05; done'], cwd: '/', pty: { rows: 10, cols: 20 } });
    await c.until(() => c.output(n).toString().includes('ready'));
    c.send({ id: id(), op: 'resize', ref: n, rows: 40, cols: 120 });
    const frames = await c.final(n);
    c.close();
    assert.equal(frames[frames.length - 1]!.code, 3);
    assert.match(c.output(n).toString(), /40 120/);
  } finally {
    await done(h);
  }
});

test('a value too short to mask is left alone and named in the exit frame', async () => {
  const h = await home('sesame-exec-short-');
  try {
    const r = await once(profileSock(h, 'box'), { id: id(), op: 'exec', project: 'default', argv: ['sh', '-c', 'echo "port $SHORT"'], cwd: '/' });
    assert.equal(r.out.toString(), 'port abc\n');
    assert.deepEqual(r.last.too_short, ['SHORT']);
    const c = await sesame(['run', '--', 'sh', '-c', 'echo "port $SHORT"'], { env: { ...h.env, SESAME_AGENT_SOCK: profileSock(h, 'box') } });
    assert.equal(c.out, 'port abc\n');
    assert.equal(c.stderr.split('\n').filter((l) => l.includes('SHORT')).length, 1, c.stderr);
  } finally {
    await done(h);
  }
});

test('check answers the exec decision and runs and audits nothing', async () => {
  const h = await home('sesame-exec-check-');
  const marker = path.join(h.dir, '..', 'checked');
  try {
    const audit = path.join(h.dir, 'audit.jsonl');
    await once(ownerSock(h), { id: id(), op: 'status' }); // let the start checkpoint settle
    const before = fs.readFileSync(audit);
    const sock = profileSock(h, 'box');
    const yes = await once(sock, { id: id(), op: 'check', what: 'exec', project: 'default', argv: ['sh', '-c', `touch ${marker}`] });
    assert.equal(yes.last.frame, 'ok');
    assert.equal(yes.last.allowed, true);
    assert.equal(yes.last.resolved, SH);
    assert.deepEqual(yes.last.keys, ['API_TOKEN', 'SHORT']);
    const no = await once(sock, { id: id(), op: 'check', what: 'exec', project: 'default', argv: ['touch', marker] });
    assert.equal(no.last.allowed, false);
    assert.equal(no.last.reason, 'not_allowed_command');
    const get = await once(sock, { id: id(), op: 'check', what: 'get', project: 'default', key: 'API_TOKEN' });
    assert.equal(get.last.allowed, false, 'a non-revealing profile may not get');
    assert.equal(get.last.reason, 'reveal');
    const ghost = await once(sock, { id: id(), op: 'check', what: 'exec', project: 'nope', argv: ['sh'] });
    assert.equal(ghost.last.allowed, false);
    assert.equal(ghost.last.reason, 'not_found');
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(!fs.existsSync(marker), 'check ran nothing');
    assert.deepEqual(fs.readFileSync(audit), before, 'check wrote no audit record');
  } finally {
    await done(h);
  }
});

test('an exec is audited with its program, an argv hash and the masked counts, never its argv', async () => {
  const h = await home('sesame-exec-audit-');
  try {
    const argv = ['sh', '-c', 'echo "$API_TOKEN"; : ARGV-MARKER-7f3a'];
    const r = await once(profileSock(h, 'box'), { id: id(), op: 'exec', project: 'default', argv, cwd: '/' });
    assert.equal(r.last.code, 0);
    await new Promise((res) => setTimeout(res, 50));
    const lines = fs
      .readFileSync(path.join(h.dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const start = lines.find((l) => l.event === 'exec');
    const end = lines.find((l) => l.event === 'exec_exit');
    assert.ok(start && end, JSON.stringify(lines));
    assert.equal(start.command, SH);
    assert.equal(start.argv_hash, argvHash(argv));
    assert.deepEqual(start.keys, ['API_TOKEN', 'SHORT']);
    assert.equal(start.via, 'profile:box');
    assert.equal(end.reason, 'exit:0');
    assert.deepEqual(end.masked, { API_TOKEN: 1 });
    const raw = fs.readFileSync(path.join(h.dir, 'audit.jsonl'), 'utf8');
    assert.ok(!raw.includes('ARGV-MARKER'), 'argv never reaches the audit log');
    assert.ok(!raw.includes(SECRET));
    const v = await sesame(['audit', 'verify'], { env: h.env });
    assert.equal(v.code, 0, v.stderr + v.out);
  } finally {
    await done(h);
  }
});

test('a token needs exec in its scope to exec, and check in its scope to check', async () => {
  const h = await home('sesame-exec-token-');
  try {
    const mint = async (ops: string): Promise<string> => {
      const r = await sesame(['token', 'new', '--ops', ops, '--json'], { env: h.env });
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.out) as { token: string }).token;
    };
    const getOnly = await mint('get');
    const execOnly = await mint('exec');
    const req = { op: 'exec', project: 'default', argv: ['true'], cwd: '/' };
    const no = await once(ownerSock(h), { id: id(), ...req, token: getOnly });
    assert.equal(no.last.frame, 'error');
    assert.deepEqual((no.last.error as { detail: unknown }).detail, { reason: 'scope' });
    const yes = await once(ownerSock(h), { id: id(), ...req, token: execOnly });
    assert.equal(yes.last.code, 0, JSON.stringify(yes.last));
    const chk = await once(ownerSock(h), { id: id(), op: 'check', what: 'exec', project: 'default', argv: ['true'], token: execOnly });
    assert.equal((chk.last.error as { detail: { reason: string } }).detail.reason, 'scope', 'check is its own op in a scope');
  } finally {
    await done(h);
  }
});
