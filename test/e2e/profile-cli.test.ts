/**
 * `sesame profile list | show | check | mount` through the built CLI in an isolated home.
 * `profile check` names file:line of every problem; `profile mount`'s bubblewrap arguments,
 * pasted into a real `bwrap` command line, make the profile socket appear inside the sandbox
 * at SESAME_AGENT_SOCK (a stand-in socket: serving it is the agent wiring's job).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { makeHome, requireTool, runProcess, sesame, type TestHome } from '../helpers/cli.js';

const CI = `# a container that reads one project's API keys
projects = ["work"]
keys = ["API_*"]
reveal = true
peer = "any"
rate_limit = "100/min"
`;

function withProfiles(files: Record<string, string>): TestHome {
  const h = makeHome('sesame-profile-cli-');
  fs.mkdirSync(path.join(h.dir, 'profiles'), { recursive: true, mode: 0o700 });
  fs.chmodSync(h.dir, 0o700);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(h.dir, 'profiles', name), text, { mode: 0o600 });
  return h;
}

test('profile list and show give the socket each profile gets and its scope', async () => {
  const h = withProfiles({ 'ci.toml': CI });
  try {
    const list = await sesame(['profile', 'list'], { env: h.env });
    assert.equal(list.code, 0, list.stderr);
    const sock = path.join(h.dir, 'sockets', 'ci.sock');
    assert.equal(list.out, `ci  ${sock}  projects=work keys=API_* reveal peer=any\n`);
    const show = await sesame(['profile', 'show', 'ci', '--json'], { env: h.env });
    assert.equal(show.code, 0, show.stderr);
    const j = JSON.parse(show.out) as Record<string, unknown>;
    assert.deepEqual([j.socket, j.socket_mode, j.projects, j.keys, j.reveal, j.peer, j.rate_limit], [sock, '0666', ['work'], ['API_*'], true, 'any', '100/min']);
    const missing = await sesame(['profile', 'show', 'nope'], { env: h.env });
    assert.equal(missing.code, 4);
    const badName = await sesame(['profile', 'show', '../x'], { env: h.env });
    assert.equal(badName.code, 2);
  } finally {
    h.cleanup();
  }
});

test('profile list places the socket under the runtime directory when the home path is too long', async () => {
  const h = withProfiles({ 'ci.toml': CI });
  const deep = path.join(h.dir, 'x'.repeat(60), 'y'.repeat(60));
  try {
    fs.mkdirSync(path.join(deep, 'profiles'), { recursive: true, mode: 0o700 });
    fs.copyFileSync(path.join(h.dir, 'profiles', 'ci.toml'), path.join(deep, 'profiles', 'ci.toml'));
    const xdg = path.join(path.dirname(h.dir), 'run');
    fs.mkdirSync(xdg, { mode: 0o700 });
    const r = await sesame(['profile', 'show', 'ci', '--json'], { env: { ...h.env, SESAME_HOME: deep, XDG_RUNTIME_DIR: xdg } });
    assert.equal(r.code, 0, r.stderr);
    const sock = (JSON.parse(r.out) as { socket: string }).socket;
    assert.match(sock, new RegExp(`^${xdg}/sesame-[0-9a-f]{16}/sockets/ci\\.sock$`));
    assert.ok(Buffer.byteLength(sock) <= 107);
  } finally {
    h.cleanup();
  }
});

test('profile check names the file and line of every problem and exits 1', async () => {
  const h = withProfiles({ 'ci.toml': CI, 'box.toml': 'projects = ["a"]\nkeys = ["*"]\n\nsurprise = true\npeer = "everyone"\n', 'broken.toml': 'projects = ["a"\n' });
  try {
    const r = await sesame(['profile', 'check'], { env: h.env });
    assert.equal(r.code, 1);
    const box = path.join(h.dir, 'profiles', 'box.toml');
    assert.ok(r.stderr.includes(`${box}:4: unknown field "surprise"`), r.stderr);
    assert.ok(r.stderr.includes(`${box}:5: peer must be`), r.stderr);
    assert.match(r.stderr, /broken\.toml:\d+: bad TOML/);
    const j = await sesame(['profile', 'check', '--json'], { env: h.env });
    assert.equal(j.code, 1);
    const rep = JSON.parse(j.out) as { ok: boolean; profiles: string[]; problems: { file: string; line: number }[] };
    assert.equal(rep.ok, false);
    assert.deepEqual(rep.profiles, ['ci']);
    assert.equal(rep.problems.length, 3);
    fs.unlinkSync(box);
    fs.unlinkSync(path.join(h.dir, 'profiles', 'broken.toml'));
    const ok = await sesame(['profile', 'check'], { env: h.env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /1 profile ok: ci/);
    fs.unlinkSync(path.join(h.dir, 'profiles', 'ci.toml'));
    const none = await sesame(['profile', 'check'], { env: h.env });
    assert.equal(none.code, 1, 'a profile directory with no profile is refused');
    assert.match(none.stderr, /holds no profile/);
  } finally {
    h.cleanup();
  }
});

test('profile mount prints the docker/podman and bubblewrap arguments', async () => {
  const h = withProfiles({ 'ci.toml': CI });
  try {
    const sock = path.join(h.dir, 'sockets', 'ci.sock');
    const docker = await sesame(['profile', 'mount', 'ci', '--for', 'docker'], { env: h.env });
    assert.equal(docker.out, `-v ${sock}:/run/sesame/agent.sock -e SESAME_AGENT_SOCK=/run/sesame/agent.sock -e SESAME_AGENT_DELEGATED=1\n`);
    const j = await sesame(['profile', 'mount', 'ci', '--target', '/sesame.sock', '--json'], { env: h.env });
    const m = JSON.parse(j.out) as { socket: string; target: string; env: Record<string, string>; bwrap: string };
    assert.deepEqual([m.socket, m.target, m.env.SESAME_AGENT_SOCK], [sock, '/sesame.sock', '/sesame.sock']);
    assert.equal(m.bwrap, `--bind ${sock} /sesame.sock --setenv SESAME_AGENT_SOCK /sesame.sock --setenv SESAME_AGENT_DELEGATED 1`);
    const bad = await sesame(['profile', 'mount', 'ci', '--target', 'rel:x'], { env: h.env });
    assert.equal(bad.code, 2);
  } finally {
    h.cleanup();
  }
});

test('profile mount output works when pasted into a bubblewrap command line', async (t) => {
  if (!requireTool(t, 'bwrap', 'bubblewrap')) return;
  const h = withProfiles({ 'ci.toml': CI });
  // Stand-in for the agent's profile socket (the agent wiring binds the real one here).
  const sockDir = path.join(h.dir, 'sockets');
  fs.mkdirSync(sockDir, { mode: 0o700 });
  const sock = path.join(sockDir, 'ci.sock');
  let connections = 0;
  const server = net.createServer((c) => {
    connections++;
    c.end('hello from the host\n');
  });
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  try {
    const mount = await sesame(['profile', 'mount', 'ci', '--for', 'bwrap'], { env: h.env });
    assert.equal(mount.code, 0, mount.stderr);
    const args = mount.out.trim();
    // Pasted as is into a shell command line, as a user would.
    const inside = `ls -l "$SESAME_AGENT_SOCK" && test -S "$SESAME_AGENT_SOCK" && ${JSON.stringify(process.execPath)} -e 'require("net").connect(process.env.SESAME_AGENT_SOCK).on("data", (d) => process.stdout.write(d))'`;
    const line = `bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /run ${args} sh -c '${inside.replace(/'/g, `'\\''`)}'`;
    const r = await runProcess('sh', ['-c', line], { env: { PATH: process.env.PATH } });
    if (r.code !== 0 && /setting up uid map|Creating new namespace failed|No permissions to creating new namespace/.test(r.stderr) && process.env.CI !== 'true') {
      t.skip(`bwrap cannot create namespaces here: ${r.stderr.trim()}`);
      return;
    }
    assert.equal(r.code, 0, `${line}\n${r.stderr}`);
    assert.match(r.out, /^s.* \/run\/sesame\/agent\.sock\n/m, 'the socket is at the target path inside');
    assert.match(r.out, /hello from the host/, 'and it reaches the socket on the host');
    assert.equal(connections, 1);
  } finally {
    server.close();
    h.cleanup();
  }
});
