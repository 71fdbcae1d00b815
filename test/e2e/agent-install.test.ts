/**
 * `agent install | uninstall` (issue 14, "Service install"), driving the built CLI: the unit
 * passes systemd-analyze verify with no warning, install twice writes once, uninstall leaves
 * no trace and touches nothing it did not write, the macOS plist is well-formed (parsed by
 * python3's plistlib, a strict XML parser), no non-interactive tier → refused, with the
 * reason, nothing written. And the sandboxing decision: node aborts under W^X memory
 * (MemoryDenyWriteExecute), so the unit leaves it out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, requireTool, sesame, type TestHome } from '../helpers/cli.js';
import { alive, startAgent, stopAgent, waitFor } from '../helpers/agent.js';

/** A snapshot of every path under `dir` with its inode and mtime (what "no trace" compares). */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      out.set(p, `${st.ino}:${st.mtimeMs}:${st.mode}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

const unitOf = (h: TestHome): string => path.join(String(h.env.HOME), '.config', 'systemd', 'user', 'sesame-agent.service');

test('the generated unit passes systemd-analyze verify without a warning, runs the agent in the foreground, and holds no passphrase', async (t) => {
  if (!requireTool(t, 'systemd-analyze', 'systemd')) return;
  const h = await initHome('sesame-install-verify-');
  try {
    const r = await sesame(['agent', 'install'], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    const unit = unitOf(h);
    const text = fs.readFileSync(unit, 'utf8');
    assert.equal(fs.statSync(unit).mode & 0o777, 0o600);
    assert.match(text, /^ExecStart=\/usr\/bin\/env node "[^"]+" "agent" "start" "--idle" "0" "--ttl" "24h"$/m);
    assert.doesNotMatch(text, /--background/);
    assert.match(text, new RegExp(`^Environment="SESAME_PASSPHRASE_FILE=${h.passFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"$`, 'm'));
    for (const d of ['ProtectSystem=strict', 'ProtectHome=read-only', 'NoNewPrivileges=yes', 'PrivateTmp=yes', 'RestrictAddressFamilies=AF_UNIX', 'LockPersonality=yes', 'LimitCORE=0', 'UMask=0077'])
      assert.ok(text.split('\n').includes(d), `the unit sets ${d}`);
    assert.match(text, new RegExp(`^ReadWritePaths="${h.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" %t$`, 'm'));
    assert.doesNotMatch(text, /^MemoryDenyWriteExecute/m);
    assert.ok(!text.includes('correct horse'), 'no passphrase in the unit');
    // systemd-analyze exits 0 even for a directive it ignores: any line on stderr about the unit fails too.
    const v = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stderr.trim(), '', `systemd-analyze warned: ${v.stderr}`);
    // The check can fail: a misspelt directive is reported.
    const bad = path.join(path.dirname(h.dir), 'sesame-agent.service');
    fs.writeFileSync(bad, text.replace('ProtectSystem=strict', 'ProtectSystm=strict'));
    assert.match(spawnSync('systemd-analyze', ['verify', '--man=no', bad], { encoding: 'utf8' }).stderr, /Unknown key( name)? 'ProtectSystm'/);
  } finally {
    h.cleanup();
  }
});

test('install twice writes once (same inode and mtime); uninstall leaves no trace and nothing else is touched', async () => {
  const h = await initHome('sesame-install-idem-');
  try {
    const home = String(h.env.HOME);
    const before = tree(home);
    const first = await sesame(['agent', 'install', '--json'], { env: h.env });
    assert.equal(first.code, 0, first.stderr);
    assert.equal((JSON.parse(first.out) as { written: boolean }).written, true);
    const st1 = fs.statSync(unitOf(h));
    await new Promise((r) => setTimeout(r, 20));
    const second = await sesame(['agent', 'install', '--json'], { env: h.env });
    assert.equal(second.code, 0, second.stderr);
    assert.equal((JSON.parse(second.out) as { written: boolean }).written, false);
    const st2 = fs.statSync(unitOf(h));
    assert.deepEqual([st2.ino, st2.mtimeMs], [st1.ino, st1.mtimeMs], 'an unchanged unit was rewritten');
    // A changed option rewrites it; uninstall still removes every directory the first install made.
    assert.equal((await sesame(['agent', 'install', '--ttl', '12h'], { env: h.env })).code, 0);
    assert.match(fs.readFileSync(unitOf(h), 'utf8'), /"--ttl" "12h"/);
    const u = await sesame(['agent', 'uninstall'], { env: h.env });
    assert.equal(u.code, 0, u.stderr);
    assert.deepEqual([...tree(home).keys()].sort(), [...before.keys()].sort(), 'uninstall left a trace');

    // With the directories already there (and a file of the user's beside the unit): only the unit goes.
    const userDir = path.dirname(unitOf(h));
    fs.mkdirSync(userDir, { recursive: true });
    fs.writeFileSync(path.join(userDir, 'mine.service'), '[Service]\nExecStart=/bin/true\n');
    const withDirs = tree(home);
    assert.equal((await sesame(['agent', 'install'], { env: h.env })).code, 0);
    assert.equal((await sesame(['agent', 'uninstall'], { env: h.env })).code, 0);
    assert.deepEqual([...tree(home).keys()].sort(), [...withDirs.keys()].sort());
    // A unit sesame did not write is never removed or overwritten.
    fs.writeFileSync(unitOf(h), '[Service]\nExecStart=/bin/true\n');
    const foreign = await sesame(['agent', 'uninstall'], { env: h.env });
    assert.notEqual(foreign.code, 0);
    assert.match(foreign.stderr, /not written by sesame/);
    assert.notEqual((await sesame(['agent', 'install'], { env: h.env })).code, 0);
    assert.equal(fs.readFileSync(unitOf(h), 'utf8'), '[Service]\nExecStart=/bin/true\n');
  } finally {
    h.cleanup();
  }
});

test('the unit goes under XDG_CONFIG_HOME when it is set', async () => {
  const h = await initHome('sesame-install-xdg-');
  try {
    const xdg = path.join(String(h.env.HOME), 'xdg-config');
    const r = await sesame(['agent', 'install', '--json'], { env: { ...h.env, XDG_CONFIG_HOME: xdg } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.out) as { file: string }).file, path.join(xdg, 'systemd', 'user', 'sesame-agent.service'));
    assert.ok(fs.existsSync(path.join(xdg, 'systemd', 'user', 'sesame-agent.service')));
  } finally {
    h.cleanup();
  }
});

test('the macOS plist is well-formed XML that plistlib parses, with the agent in the foreground and no core dumps', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await initHome('sesame-install-plist-');
  try {
    const r = await sesame(['agent', 'install', '--platform', 'macos', '--json'], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    const file = (JSON.parse(r.out) as { file: string }).file;
    assert.equal(file, path.join(String(h.env.HOME), 'Library', 'LaunchAgents', 'sesame.agent.plist'));
    const py = spawnSync('python3', ['-c', 'import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],"rb"))))', file], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    const p = JSON.parse(py.stdout) as { Label: string; ProgramArguments: string[]; EnvironmentVariables: Record<string, string>; SoftResourceLimits: { Core: number }; KeepAlive: unknown };
    assert.equal(p.Label, 'sesame.agent');
    assert.deepEqual(p.ProgramArguments.slice(0, 2), ['/usr/bin/env', 'node']);
    assert.deepEqual(p.ProgramArguments.slice(3), ['agent', 'start', '--idle', '0', '--ttl', '24h']);
    assert.equal(p.EnvironmentVariables.SESAME_HOME, h.dir);
    assert.equal(p.SoftResourceLimits.Core, 0);
    // The check can fail: plistlib refuses a broken file.
    fs.appendFileSync(file, '<dict>');
    assert.notEqual(spawnSync('python3', ['-c', 'import plistlib,sys; plistlib.load(open(sys.argv[1],"rb"))', file]).status, 0);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/<dict>$/, ''));
    assert.equal((await sesame(['agent', 'uninstall', '--platform', 'macos'], { env: h.env })).code, 0);
    assert.ok(!fs.existsSync(path.join(String(h.env.HOME), 'Library')), 'uninstall removed the directories install created');
  } finally {
    h.cleanup();
  }
});

test('install refuses, saying why, when no non-interactive tier is set up, and writes nothing', async () => {
  const h = await initHome('sesame-install-refuse-');
  try {
    const { SESAME_PASSPHRASE_FILE: _p, ...env } = h.env;
    const before = tree(String(h.env.HOME));
    for (const args of [
      ['agent', 'install'],
      ['agent', 'install', '--dry-run'],
    ]) {
      const r = await sesame(args, { env });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /no non-interactive way to unlock is set up/);
      assert.match(r.stderr, /sealed: absent/);
      assert.match(r.stderr, /passphrase seal|to-keyring|passphrase_command|SESAME_PASSPHRASE_FILE/);
    }
    // The passphrase in the environment is not a tier a service can use: it would have to be written into the unit.
    const envOnly = await sesame(['agent', 'install'], { env: { ...env, SESAME_PASSPHRASE: 'correct horse battery staple' } });
    assert.notEqual(envOnly.code, 0);
    assert.deepEqual([...tree(String(h.env.HOME)).keys()].sort(), [...before.keys()].sort());
  } finally {
    h.cleanup();
  }
});

test('node aborts under W^X memory (what MemoryDenyWriteExecute enforces), so the unit leaves it out', (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  // PR_SET_MDWE (Linux 6.3+) with PR_MDWE_REFUSE_EXEC_GAIN: the kernel's own form of the rule; then exec node.
  const mdwe = 'import ctypes,os,sys\nlibc=ctypes.CDLL(None,use_errno=True)\nif libc.prctl(65,1,0,0,0)!=0: sys.exit(77)\nos.execv(sys.argv[1],sys.argv[1:])';
  const run = (args: string[]): ReturnType<typeof spawnSync> => spawnSync('python3', ['-c', mdwe, process.execPath, ...args], { encoding: 'utf8' });
  const jit = run(['-e', 'let s=0; for (let i=0;i<1e7;i++) s+=i; console.log(s)']);
  if (jit.status === 77) {
    if (process.env.CI === 'true') assert.fail('this kernel has no PR_SET_MDWE (Linux 6.3+ needed)');
    t.skip('this kernel has no PR_SET_MDWE (Linux 6.3+)');
    return;
  }
  assert.notEqual(jit.status, 0, 'node ran under W^X: MemoryDenyWriteExecute could be added to the unit');
  assert.match(String(jit.stderr), /SetPermissions|Fatal error/);
  // The control: without V8's JIT the same process runs, so it is the JIT that needs W+X.
  const jitless = run(['--jitless', '-e', 'console.log(1+1)']);
  assert.equal(jitless.status, 0, String(jitless.stderr));
});

test('agent restart without a running service manager stops the agent and starts a new one; agent logs shows its log', async () => {
  const h = await initHome('sesame-install-restart-');
  try {
    const pid = await startAgent(h);
    assert.equal((await sesame(['agent', 'install'], { env: h.env })).code, 0); // installed, but no user manager runs it here
    const r = await sesame(['agent', 'restart'], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    await waitFor('the old agent to exit', () => !alive(pid));
    const st = await sesame(['agent', 'status', '--json'], { env: h.env });
    const now = JSON.parse(st.out) as { running: boolean; pid: number };
    assert.equal(now.running, true);
    assert.notEqual(now.pid, pid);
    const logs = await sesame(['agent', 'logs'], { env: h.env });
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.out, new RegExp(`pid=${now.pid} started`));
    assert.match(logs.out, new RegExp(`pid=${pid} stopped: stop`));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
