import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN, initHome, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { startAgent, stopAgent } from '../helpers/agent.js';

const base = (h: TestHome): string => path.dirname(h.dir);
const at = (h: TestHome, cwd: string, args: string[], env: NodeJS.ProcessEnv = h.env) => runProcess(process.execPath, [BIN, ...args], { env, cwd });

/** A home with projects `web` (API_KEY, DB_URL, WEB_PORT) and `default` (API_KEY), and base/work/app/sub. */
async function setup(): Promise<{ h: TestHome; app: string; sub: string }> {
  const h = await initHome();
  await setSecret(h, 'API_KEY', 'default-key');
  assert.equal((await sesame(['projects', 'create', 'web'], { env: h.env })).code, 0);
  for (const [k, v] of [
    ['API_KEY', 'web-key'],
    ['DB_URL', 'postgres://web'],
    ['WEB_PORT', '8080'],
  ])
    await setSecret(h, k!, v!, ['-p', 'web']);
  const app = path.join(base(h), 'work', 'app');
  const sub = path.join(app, 'src', 'deep');
  fs.mkdirSync(sub, { recursive: true });
  return { h, app, sub };
}

test('the nearest .sesame.toml above the working directory chooses the project, status names the file, and -p or SESAME_PROJECT still win', async () => {
  const { h, app, sub } = await setup();
  const file = path.join(app, '.sesame.toml');
  fs.writeFileSync(file, 'project = "web"\n', { mode: 0o644 });
  const got = await at(h, sub, ['get', 'API_KEY']);
  assert.equal(got.code, 0, got.stderr);
  assert.equal(got.out, 'web-key\n');
  const st = await at(h, sub, ['status']);
  assert.match(st.out, new RegExp(`project: +web \\(from ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
  const js = JSON.parse((await at(h, sub, ['status', '--json'])).out) as { project: { name: string; source: string; file: string } };
  assert.deepEqual([js.project.name, js.project.source, js.project.file], ['web', 'directory', file]);
  assert.equal((await at(h, sub, ['-p', 'default', 'get', 'API_KEY'])).out, 'default-key\n');
  assert.equal((await at(h, sub, ['get', 'API_KEY'], { ...h.env, SESAME_PROJECT: 'default' })).out, 'default-key\n');
  // Outside the directory the file no longer applies.
  assert.equal((await at(h, base(h), ['get', 'API_KEY'])).out, 'default-key\n');
  // The agent fast path resolves the same project.
  await startAgent(h);
  try {
    const fast = await at(h, sub, ['get', 'DB_URL']);
    assert.equal(fast.code, 0, fast.stderr);
    assert.equal(fast.out, 'postgres://web\n');
  } finally {
    await stopAgent(h);
  }
  h.cleanup();
});

test('only and prefix in .sesame.toml select what env prints, and --only on the command line wins', async () => {
  const { h, app } = await setup();
  fs.writeFileSync(path.join(app, '.sesame.toml'), 'project = "web"\nonly = ["DB_URL", "WEB_PORT"]\nprefix = "WEB_"\n', { mode: 0o600 });
  const env = await at(h, app, ['env', '--format', 'json']);
  assert.equal(env.code, 0, env.stderr);
  assert.deepEqual(Object.keys(JSON.parse(env.out) as object), ['WEB_PORT']);
  const over = await at(h, app, ['env', '--format', 'json', '--only', 'API_KEY']);
  assert.deepEqual(JSON.parse(over.out), { API_KEY: 'web-key' });
  // With -p the file did not choose the project, so its selection does not apply either.
  const flag = await at(h, app, ['-p', 'web', 'env', '--format', 'json']);
  assert.deepEqual(Object.keys(JSON.parse(flag.out) as object), ['API_KEY', 'DB_URL', 'WEB_PORT']);
  h.cleanup();
});

test('refuses a .sesame.toml that is writable by others, owned by someone else or a symlink, and never silently falls back', async (t) => {
  const { h, app, sub } = await setup();
  const file = path.join(app, '.sesame.toml');
  const cases: Array<[string, () => void]> = [
    [
      'group-writable',
      () => {
        fs.writeFileSync(file, 'project = "web"\n');
        fs.chmodSync(file, 0o664); // explicitly: the umask would clear the bit
      },
    ],
    [
      'world-writable',
      () => {
        fs.chmodSync(file, 0o646);
      },
    ],
    [
      'a symlink',
      () => {
        fs.rmSync(file);
        fs.writeFileSync(path.join(app, 'real.toml'), 'project = "web"\n', { mode: 0o600 });
        fs.symlinkSync(path.join(app, 'real.toml'), file);
      },
    ],
    [
      'a FIFO',
      () => {
        fs.rmSync(file);
        assert.equal(spawnSync('mkfifo', [file]).status, 0);
      },
    ],
  ];
  for (const [what, make] of cases) {
    make();
    fs.chmodSync(app, 0o755);
    const r = await at(h, sub, ['get', 'API_KEY']);
    assert.equal(r.code, 1, `${what}: ${r.stderr}`);
    assert.equal(r.out, '', `${what}: nothing printed`);
    assert.match(r.stderr, /project file .*\.sesame\.toml/, what);
    assert.match(r.stderr, /-p NAME or SESAME_PROJECT/, what);
    // The documented way out works.
    assert.equal((await at(h, sub, ['-p', 'default', 'get', 'API_KEY'])).out, 'default-key\n', what);
  }
  fs.rmSync(file, { force: true });
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    // A file another user dropped (e.g. in a shared directory): refused even though it is 0644.
    fs.writeFileSync(file, 'project = "web"\n', { mode: 0o644 });
    fs.chownSync(file, 4242, 4242);
    const r = await at(h, sub, ['get', 'API_KEY']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /owned by uid 4242/);
  } else if (process.env.CI === 'true') {
    assert.fail('the foreign-owner case needs root (chown) in CI');
  } else t.diagnostic('foreign-owner case skipped: needs root to chown');
  h.cleanup();
});

test('refuses a .sesame.toml it cannot understand, naming the file', async () => {
  const { h, app } = await setup();
  const file = path.join(app, '.sesame.toml');
  for (const [text, why] of [
    ['project = web\n', /not valid TOML/],
    ['project = "web"\nhome = "/tmp/evil"\n', /unknown key "home"/],
    ['project = ["web"]\n', /`project` must be a string/],
    ['project = "../etc"\n', /invalid project name/],
    ['project = "web"\nonly = ["A B"]\n', /invalid key name/],
  ] as const) {
    fs.writeFileSync(file, text, { mode: 0o600 });
    const r = await at(h, app, ['get', 'API_KEY']);
    assert.equal(r.code, 1, `${text}: ${r.stderr}`);
    assert.match(r.stderr, why, text);
  }
  h.cleanup();
});

test('the walk stops at $HOME: a .sesame.toml above it is never read', async () => {
  const { h, app } = await setup();
  fs.writeFileSync(path.join(base(h), '.sesame.toml'), 'project = "web"\n', { mode: 0o600 });
  const home = path.join(base(h), 'work');
  const r = await at(h, app, ['status', '--json'], { ...h.env, HOME: home });
  assert.equal((JSON.parse(r.out) as { project: { source: string } }).project.source, 'default');
  // Without that boundary (HOME elsewhere) the same file applies.
  const r2 = await at(h, app, ['status', '--json'], { ...h.env, HOME: '/nonexistent-home' });
  assert.equal((JSON.parse(r2.out) as { project: { name: string } }).project.name, 'web');
  h.cleanup();
});

test("get's agent fast path loads no TOML parser unless a .sesame.toml is found, and never the full CLI", async () => {
  const { h, app, sub } = await setup();
  await startAgent(h);
  try {
    const env = { ...h.env, NODE_DEBUG: 'module' };
    const none = await at(h, sub, ['-p', 'web', 'get', 'API_KEY'], env);
    assert.equal(none.out, 'web-key\n', none.stderr);
    const plain = await at(h, sub, ['get', 'API_KEY'], env);
    assert.equal(plain.out, 'default-key\n');
    assert.doesNotMatch(plain.stderr, /smol-toml/, 'no file found: the parser is not loaded');
    assert.doesNotMatch(plain.stderr, /cli\.mjs/, 'the fast path answered');
    fs.writeFileSync(path.join(app, '.sesame.toml'), 'project = "web"\n', { mode: 0o600 });
    const found = await at(h, sub, ['get', 'API_KEY'], env);
    assert.equal(found.out, 'web-key\n');
    assert.match(found.stderr, /smol-toml/);
    assert.doesNotMatch(found.stderr, /cli\.mjs/);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
