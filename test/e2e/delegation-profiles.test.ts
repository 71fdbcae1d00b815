/**
 * Profile sockets against a real agent started by the built CLI (issue 9): one socket per
 * profile with the documented modes; isolation between profiles (no read, list or detection
 * of another profile's keys); the peer rule checked on accept (`[uids]`, `"any"`), tested with
 * processes of other uids — inside a real bubblewrap sandbox with only the socket bound in,
 * and on the host; rate limits; SIGHUP adding and removing sockets.
 *
 * Needs root (to run processes as other uids) and bwrap; outside CI they skip saying so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { initHome, requireTool, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { ask, exchange, logOf, startAgent, stopAgent, waitFor, type Reply } from '../helpers/agent.js';
import { stagedBin } from '../helpers/stage.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function requireRoot(t: { skip(msg: string): void }): boolean {
  if (isRoot) return true;
  if (process.env.CI === 'true') throw new Error('this test must run as root in CI (it runs processes as other uids)');
  t.skip('needs root (runs processes as other uids)');
  return false;
}

/** A home with projects default (A_KEY, B_KEY) and work (API_X, DB_URL), and these profiles. */
async function profileHome(prefix: string, profiles: Record<string, string>): Promise<TestHome> {
  const h = await initHome(prefix);
  await setSecret(h, 'A_KEY', 'value-a');
  await setSecret(h, 'B_KEY', 'value-b');
  const p = await sesame(['projects', 'create', 'work'], { env: h.env });
  assert.equal(p.code, 0, p.stderr);
  await setSecret(h, 'API_X', 'value-api', ['--project', 'work']);
  await setSecret(h, 'DB_URL', 'value-db', ['--project', 'work']);
  writeProfiles(h, profiles);
  return h;
}

function writeProfiles(h: TestHome, profiles: Record<string, string>): void {
  const dir = path.join(h.dir, 'profiles');
  fs.mkdirSync(dir, { mode: 0o700, recursive: true });
  for (const [name, text] of Object.entries(profiles)) fs.writeFileSync(path.join(dir, `${name}.toml`), text, { mode: 0o600 });
}

const sockIn = (h: TestHome, name: string): string => path.join(h.dir, 'sockets', `${name}.sock`);
let nextId = 1;
const v2 = (sock: string, req: Record<string, unknown>): Promise<Reply> => ask(sock, { v: 2, id: nextId++, ...req });

function errorShape(r: Reply, names: Record<string, string>): string {
  assert.equal(r.frame, 'error', JSON.stringify(r));
  let s = JSON.stringify(r.error);
  for (const [name, placeholder] of Object.entries(names)) s = s.split(name).join(placeholder);
  return s;
}

test('one socket per profile with the documented modes', async () => {
  const h = await profileHome('sesame-prof-modes-', {
    mine: 'projects = ["default"]\nkeys = ["*"]\n',
    box: 'projects = ["work"]\nkeys = ["API_*"]\npeer = "any"\n',
    some: 'projects = ["work"]\nkeys = ["*"]\npeer = [1234, 5678]\n',
  });
  try {
    await startAgent(h);
    const dir = fs.statSync(path.join(h.dir, 'sockets'));
    assert.equal(dir.mode & 0o777, 0o700, 'sockets/ is 0700: no other user on the host can reach a socket in it');
    assert.equal(dir.uid, process.getuid?.());
    const mode = (n: string): number => fs.statSync(sockIn(h, n)).mode & 0o777;
    assert.ok(fs.statSync(sockIn(h, 'mine')).isSocket());
    assert.equal(mode('mine'), 0o600, 'same-uid: 0600 like the owner socket');
    assert.equal(mode('box'), 0o666, 'peer "any": 0666, connectable through a bind mount');
    assert.equal(mode('some'), 0o666, 'peer [uids]: 0666, the uid list is checked on accept');
    const st = await sesame(['agent', 'status', '--json'], { env: h.env });
    const listeners = (JSON.parse(st.out) as { listeners: Array<{ kind: string; name?: string; socket: string }> }).listeners;
    assert.deepEqual(
      listeners.filter((l) => l.kind === 'profile').map((l) => [l.name, l.socket]),
      ['box', 'mine', 'some'].map((n) => [n, sockIn(h, n)]),
    );
    const human = await sesame(['agent', 'status'], { env: h.env });
    assert.match(human.out, new RegExp(`listener: +profile box ${sockIn(h, 'box').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    await stopAgent(h);
    for (const n of ['mine', 'box', 'some']) assert.ok(!fs.existsSync(sockIn(h, n)), `${n}.sock removed at stop`);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test("profile A cannot read, list or detect B's keys", async () => {
  const h = await profileHome('sesame-prof-iso-', {
    a: 'projects = ["default"]\nkeys = ["A_*"]\nreveal = true\n',
    b: 'projects = ["work"]\nkeys = ["*"]\nreveal = true\n',
    hidden: 'projects = ["work"]\nkeys = ["*"]\n',
  });
  try {
    await startAgent(h);
    const a = sockIn(h, 'a');
    const ok = await v2(a, { op: 'get', project: 'default', key: 'A_KEY' });
    assert.equal(Buffer.from(String(ok.value), 'base64').toString(), 'value-a');
    // Read: B's project and A's own project's other keys look exactly like nonexistent ones.
    assert.equal(errorShape(await v2(a, { op: 'get', project: 'work', key: 'API_X' }), { work: 'P' }), errorShape(await v2(a, { op: 'get', project: 'nosuch', key: 'API_X' }), { nosuch: 'P' }));
    assert.equal(errorShape(await v2(a, { op: 'get', project: 'default', key: 'B_KEY' }), { B_KEY: 'K' }), errorShape(await v2(a, { op: 'get', project: 'default', key: 'A_NOPE' }), { A_NOPE: 'K' }));
    assert.equal(errorShape(await v2(a, { op: 'getselected', project: 'work' }), { work: 'P' }), errorShape(await v2(a, { op: 'getselected', project: 'nosuch' }), { nosuch: 'P' }));
    const sel = await v2(a, { op: 'getselected', project: 'default' });
    assert.deepEqual(
      (sel.secrets as Array<{ key: string }>).map((x) => x.key),
      ['A_KEY'],
    );
    // List: only A's view.
    const listed = await v2(a, { op: 'list' });
    assert.deepEqual(
      (listed.projects as Array<{ name: string; keys: Array<{ key: string }> }>).map((p) => [p.name, p.keys.map((k) => k.key)]),
      [['default', ['A_KEY']]],
    );
    assert.equal(errorShape(await v2(a, { op: 'list', project: 'work' }), { work: 'P' }), errorShape(await v2(a, { op: 'list', project: 'nosuch' }), { nosuch: 'P' }));
    // Detect: status shows A's own socket only — not B's name, no token ids.
    const st = (await v2(a, { op: 'status' })).status as Record<string, unknown>;
    assert.deepEqual(st.listeners, [{ kind: 'profile', name: 'a', socket: a }]);
    assert.equal(st.tokens_last_used, undefined);
    assert.ok(!JSON.stringify(st).includes('"b"') && !JSON.stringify(st).includes('b.sock'), 'status does not name profile b');
    // A profile cannot stop the agent.
    assert.deepEqual(((await v2(a, { op: 'stop' })).error as { detail: unknown }).detail, { reason: 'owner_only' });
    // reveal = false: get and getselected are refused before any name is looked at; list is served.
    const hid = sockIn(h, 'hidden');
    for (const [req, what] of [
      [{ op: 'get', project: 'work', key: 'API_X' }, 'existing'],
      [{ op: 'get', project: 'nosuch', key: 'X' }, 'missing'],
      [{ op: 'getselected', project: 'work' }, 'selection'],
    ] as const) {
      const r = await v2(hid, req);
      assert.deepEqual((r.error as { detail: unknown }).detail, { reason: 'reveal' }, what);
    }
    assert.equal((await v2(hid, { op: 'list' })).frame, 'ok');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

/** The v2 request a sandboxed client sends, as a node -e script printing every reply line. */
const CLIENT = `const c=require('net').connect(process.argv[1]);let b='';c.on('connect',()=>c.write(JSON.stringify({v:2,id:1,op:'get',project:'work',key:'API_X'})+'\\n'));c.on('data',d=>b+=d);c.on('close',()=>{process.stdout.write(b)});c.on('error',e=>{process.stdout.write('connect error '+e.code+'\\n')});`;

/**
 * Runs CLIENT as `uid` inside a bubblewrap sandbox that sees the host read-only, with /tmp
 * (where the home is) replaced by an empty tmpfs and only `sock` bound in at /run/s.sock.
 * bwrap runs as root (it needs to reach the socket to bind it); the client runs as `uid`.
 */
function inSandbox(sock: string, uid: number): ReturnType<typeof runProcess> {
  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', '--tmpfs', '/run', '--bind', sock, '/run/s.sock', '--unshare-pid', '--die-with-parent'];
  const inner = ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, '-e', CLIENT, '/run/s.sock'];
  return runProcess('bwrap', [...args, '--', ...inner], { env: { PATH: process.env.PATH }, cwd: '/' });
}

/** CLIENT as `uid` on the host (no sandbox), against the socket's real path. */
function onHost(sock: string, uid: number): ReturnType<typeof runProcess> {
  return runProcess('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, '-e', CLIENT, sock], { env: { PATH: process.env.PATH }, cwd: '/' });
}

const firstReply = (out: string): Reply => JSON.parse(out.split('\n')[0] ?? '') as Reply;

test('a profile with peer = "any" is served inside a real bwrap sandbox running as nobody with only that socket bound in, and refused for a host process of a third uid that tries the socket directly', async (t) => {
  if (!requireRoot(t) || !requireTool(t, 'bwrap', 'bubblewrap') || !requireTool(t, 'setpriv', 'util-linux')) return;
  const h = await profileHome('sesame-prof-bwrap-', { box: 'projects = ["work"]\nkeys = ["API_*"]\nreveal = true\npeer = "any"\n' });
  try {
    await startAgent(h);
    const sock = sockIn(h, 'box');
    const inside = await inSandbox(sock, 65534);
    assert.equal(inside.code, 0, inside.stderr);
    const r = firstReply(inside.out);
    assert.equal(r.frame, 'ok', inside.out);
    assert.equal(Buffer.from(String(r.value), 'base64').toString(), 'value-api', "nobody in the sandbox gets the profile's key");
    // Inside, only the socket: the home is not there.
    const look = await runProcess(
      'bwrap',
      [
        '--ro-bind',
        '/',
        '/',
        '--dev',
        '/dev',
        '--proc',
        '/proc',
        '--tmpfs',
        '/tmp',
        '--tmpfs',
        '/run',
        '--bind',
        sock,
        '/run/s.sock',
        '--',
        'sh',
        '-c',
        `ls -A /tmp; test -e ${JSON.stringify(h.dir)} && echo HOME-VISIBLE; true`,
      ],
      {
        env: { PATH: process.env.PATH },
      },
    );
    assert.equal(look.out, '', 'the sandbox sees no home');
    // A host process of a third uid: the socket's directory is 0700, so the path cannot be reached.
    const host = await onHost(sock, 4242);
    assert.match(host.out, /^connect error EACCES/, host.out + host.stderr);
    assert.doesNotMatch(logOf(h), /denied a connection: peer uid 65534/, 'nobody in the sandbox was served, not denied');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test("the CLI inside a bwrap sandbox, as nobody, with what profile mount prints: gets the profile's key; a key outside it reads as missing", async (t) => {
  if (!requireRoot(t) || !requireTool(t, 'bwrap', 'bubblewrap') || !requireTool(t, 'setpriv', 'util-linux')) return;
  const h = await profileHome('sesame-prof-cli-', { box: 'projects = ["work"]\nkeys = ["API_*"]\nreveal = true\npeer = "any"\n' });
  try {
    await startAgent(h);
    const bin = stagedBin();
    const stage = path.join(os.tmpdir(), path.relative(os.tmpdir(), bin).split(path.sep)[0] ?? '');
    const mount = await sesame(['profile', 'mount', 'box', '--for', 'bwrap', '--target', '/run/s.sock'], { env: h.env });
    assert.equal(mount.code, 0, mount.stderr);
    const cli = (key: string): ReturnType<typeof runProcess> => {
      const inner = `setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/nonexistent ${process.execPath} ${bin} get ${key} --project work`;
      // Pasted as printed, into a shell command line, as a user would.
      const line = `bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --ro-bind ${stage} ${stage} --tmpfs /run --unshare-pid ${mount.out.trim()} -- ${inner}`;
      return runProcess('sh', ['-c', line], { env: { PATH: process.env.PATH }, cwd: '/' });
    };
    const got = await cli('API_X');
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.out, 'value-api\n');
    const out = await cli('DB_URL');
    const missing = await cli('API_NOPE');
    assert.equal(out.code, missing.code, out.stderr);
    assert.equal(out.stderr.split('DB_URL').join('K'), missing.stderr.split('API_NOPE').join('K'));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('peer = [uids] is enforced', async (t) => {
  if (!requireRoot(t) || !requireTool(t, 'bwrap', 'bubblewrap') || !requireTool(t, 'setpriv', 'util-linux')) return;
  const h = await profileHome('sesame-prof-uids-', { some: 'projects = ["work"]\nkeys = ["API_*"]\nreveal = true\npeer = [1234]\n' });
  try {
    await startAgent(h);
    const sock = sockIn(h, 'some');
    const listed = firstReply((await inSandbox(sock, 1234)).out);
    assert.equal(listed.frame, 'ok', JSON.stringify(listed));
    for (const uid of [1235, 65534]) {
      const other = await inSandbox(sock, uid);
      const r = firstReply(other.out);
      assert.equal(r.ok, false, other.out);
      assert.equal((r.error as { code: string }).code, 'DENIED');
      assert.doesNotMatch(JSON.stringify(r), /value|API_X/);
    }
    // The owner itself is not in the list: refused on accept too.
    const [own] = await exchange(sock, [`${JSON.stringify({ v: 2, id: 1, op: 'status' })}\n`], 1);
    assert.equal((own?.error as { code: string } | undefined)?.code, 'DENIED');
    assert.match(logOf(h), /denied a connection: peer uid 1235 .*refused by the profile listener \(peer\)/);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('rate limit denies after the budget with retry-after', async () => {
  const h = await profileHome('sesame-prof-rate-', { r: 'projects = ["work"]\nkeys = ["API_*"]\nreveal = true\nrate_limit = "3/min"\n' });
  try {
    await startAgent(h);
    const sock = sockIn(h, 'r');
    for (let i = 0; i < 3; i++) assert.equal((await v2(sock, { op: 'get', project: 'work', key: 'API_X' })).frame, 'ok', `request ${i + 1} is within the budget`);
    const over = await v2(sock, { op: 'get', project: 'work', key: 'API_X' });
    const e = over.error as { code: string; message: string; detail: { reason: string; retry_after_s: number } };
    assert.equal(e.code, 'DENIED');
    assert.equal(e.detail.reason, 'rate');
    assert.ok(e.detail.retry_after_s >= 1 && e.detail.retry_after_s <= 60, JSON.stringify(e));
    assert.match(e.message, /rate limited, retry after \d+ s/);
    // A name outside the scope costs the same: the budget tells nothing about what exists.
    assert.equal(((await v2(sock, { op: 'get', project: 'nosuch', key: 'X' })).error as { detail: { reason: string } }).detail.reason, 'rate');
    // The CLI on that socket: exit 8 with the retry hint.
    const { SESAME_PASSPHRASE_FILE: _p, ...env } = h.env;
    const cli = await sesame(['get', 'API_X', '--project', 'work'], { env: { ...env, SESAME_AGENT_SOCK: sock } });
    assert.equal(cli.code, 8, cli.stderr);
    assert.match(cli.stderr, /rate limited, retry after \d+ s/);
    // The owner socket is not limited.
    for (let i = 0; i < 5; i++) assert.equal((await v2(path.join(h.dir, 'agent.sock'), { op: 'get', project: 'work', key: 'API_X' })).frame, 'ok');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('SIGHUP adds and removes profile sockets', async () => {
  const h = await profileHome('sesame-prof-hup-', { a: 'projects = ["default"]\nkeys = ["*"]\nreveal = true\n' });
  try {
    const pid = await startAgent(h);
    assert.ok(fs.existsSync(sockIn(h, 'a')));
    fs.rmSync(path.join(h.dir, 'profiles', 'a.toml'));
    writeProfiles(h, { b: 'projects = ["work"]\nkeys = ["*"]\nreveal = true\npeer = "any"\n' });
    process.kill(pid, 'SIGHUP');
    await waitFor('b.sock to appear and a.sock to go', () => fs.existsSync(sockIn(h, 'b')) && !fs.existsSync(sockIn(h, 'a')));
    assert.equal(fs.statSync(sockIn(h, 'b')).mode & 0o777, 0o666);
    const r = await v2(sockIn(h, 'b'), { op: 'get', project: 'work', key: 'DB_URL' });
    assert.equal(Buffer.from(String(r.value), 'base64').toString(), 'value-db');
    assert.match(logOf(h), /closed profile socket: a/);
    assert.match(logOf(h), /opened profile socket: b /);
    // A bad profile on reload: the old set stays, and so do its sockets.
    writeProfiles(h, { c: 'projects = ["work"]\nkeys = 3\n' });
    process.kill(pid, 'SIGHUP');
    await waitFor('the failed reload to be logged', () => /reload failed: .*c\.toml:2/.test(logOf(h)));
    assert.ok(fs.existsSync(sockIn(h, 'b')) && !fs.existsSync(sockIn(h, 'c')));
    assert.equal((await v2(sockIn(h, 'b'), { op: 'status' })).frame, 'ok');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a profile socket closes when its ttl runs out, and its open connections are refused', async () => {
  const h = await profileHome('sesame-prof-ttl-', {
    short: 'projects = ["work"]\nkeys = ["API_*"]\nreveal = true\nttl = "2s"\n',
    long: 'projects = ["work"]\nkeys = ["API_*"]\nreveal = true\n',
  });
  try {
    await startAgent(h);
    const sock = sockIn(h, 'short');
    // A connection opened while the socket lives.
    const c = net.createConnection({ path: sock });
    await new Promise((r) => c.once('connect', r));
    let got = '';
    c.on('data', (d: Buffer) => (got += d.toString()));
    c.write(`${JSON.stringify({ v: 2, id: 1, op: 'status' })}\n`);
    await waitFor('the first reply', () => got.includes('\n'));
    assert.match(got, /"frame":"ok"/);
    await waitFor("the short profile's socket to close", () => !fs.existsSync(sock), 10_000);
    assert.match(logOf(h), /closed profile socket: short \(its ttl ran out\)/);
    got = '';
    c.write(`${JSON.stringify({ v: 2, id: 2, op: 'get', project: 'work', key: 'API_X' })}\n`);
    await waitFor('the refusal', () => got.includes('\n'));
    assert.match(got, /DENIED/);
    assert.doesNotMatch(got, /value/);
    c.destroy();
    // Another profile is unaffected.
    assert.equal((await v2(sockIn(h, 'long'), { op: 'status' })).frame, 'ok');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a profile with require_token refuses a request without one, and a token narrows the profile further', async () => {
  const h = await profileHome('sesame-prof-tok-', { locked: 'projects = ["work"]\nkeys = ["*"]\nreveal = true\nrequire_token = true\n' });
  try {
    const mk = async (args: string[]): Promise<string> => {
      const r = await sesame(['token', 'new', ...args], { env: h.env });
      assert.equal(r.code, 0, r.stderr);
      return r.out.trimEnd();
    };
    const apiOnly = await mk(['--project', 'work', '--keys', 'API_*']);
    const other = await mk(['--project', 'default']);
    await startAgent(h);
    const sock = sockIn(h, 'locked');
    assert.deepEqual(((await v2(sock, { op: 'get', project: 'work', key: 'API_X' })).error as { detail: unknown }).detail, { reason: 'token_required' });
    const ok = await v2(sock, { op: 'get', project: 'work', key: 'API_X', token: apiOnly });
    assert.equal(Buffer.from(String(ok.value), 'base64').toString(), 'value-api');
    // The profile allows DB_URL; the token does not: it reads as missing.
    assert.equal(
      errorShape(await v2(sock, { op: 'get', project: 'work', key: 'DB_URL', token: apiOnly }), { DB_URL: 'K' }),
      errorShape(await v2(sock, { op: 'get', project: 'work', key: 'API_NOPE', token: apiOnly }), { API_NOPE: 'K' }),
    );
    // A token for another project and this profile's project do not meet: nothing is visible.
    const listed = await v2(sock, { op: 'list', token: other });
    assert.deepEqual(listed.projects, []);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a stale socket of a removed profile is cleaned at start; a live one is left alone', async () => {
  const h = await profileHome('sesame-prof-stale-', { a: 'projects = ["default"]\nkeys = ["*"]\n' });
  const dir = path.join(h.dir, 'sockets');
  fs.mkdirSync(dir, { mode: 0o700 });
  const stale = path.join(dir, 'gone.sock');
  const liveSock = path.join(dir, 'other.sock');
  // A dead socket: its server was killed (SIGKILL leaves the file behind).
  const dead = await import('node:child_process').then((cp) => cp.spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)})`], { stdio: 'ignore' }));
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(liveSock, r));
  try {
    await waitFor('the stale socket', () => fs.existsSync(stale));
    dead.kill('SIGKILL');
    await new Promise((r) => dead.once('exit', r));
    assert.ok(fs.lstatSync(stale).isSocket());
    await startAgent(h);
    assert.ok(!fs.existsSync(stale), 'the dead socket is removed');
    assert.ok(fs.existsSync(liveSock), 'a live socket is left alone');
    assert.match(logOf(h), /removed a stale profile socket: .*gone\.sock/);
  } finally {
    if (dead.exitCode === null && dead.signalCode === null) dead.kill('SIGKILL');
    server.close();
    await stopAgent(h);
    h.cleanup();
  }
});
