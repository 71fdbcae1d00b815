/**
 * Profiles (src/core/policy/profiles.ts): every field validated, every problem named by file
 * and line, and a directory with no valid profile refused — so a bad profile refuses start
 * and a bad reload keeps the old policy (the loader throws with detail.file and detail.line).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SesameError } from '../../src/core/errors.js';
import { lineOf, loadProfiles, parseProfile, profilesDir, profilesLoader } from '../../src/core/policy/profiles.js';

const F = '/h/profiles/ci.toml';

function problemsOf(text: string, name = 'ci'): { line: number | null; message: string }[] {
  const r = parseProfile(name, F, text);
  assert.ok('problems' in r, 'expected problems');
  return r.problems.map((p) => ({ line: p.line, message: p.message }));
}

function home(): { dir: string; profiles: string; done(): void } {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-profiles-'));
  fs.chmodSync(base, 0o700);
  return {
    dir: base,
    profiles: profilesDir(base),
    done: () => {
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

const GOOD = `# a container that reads one project's API keys
projects = ["work"]
keys = ["API_*", "DB_URL"]
reveal = true
commands = ["/usr/bin/curl"]
peer = "any"
require_token = false
rate_limit = "100/min"
ttl = "8h"
approval_timeout = "30s"

[env]
REGION = "eu-west-1"
`;

test('a complete profile parses into its policy', () => {
  const r = parseProfile('ci', F, GOOD);
  assert.ok('profile' in r);
  const p = r.profile;
  assert.deepEqual([p.name, p.projects, p.keys, p.reveal, p.peer, p.requireToken], ['ci', ['work'], ['API_*', 'DB_URL'], true, 'any', false]);
  assert.deepEqual(p.commands, ['/usr/bin/curl']);
  assert.deepEqual([...p.env], [['REGION', 'eu-west-1']]);
  assert.deepEqual(p.rateLimit, { count: 100, perMs: 60_000 });
  assert.equal(p.ttlMs, 8 * 3_600_000);
  assert.equal(p.approvalTimeoutMs, 30_000);
  const min = parseProfile('min', F, 'projects = ["a"]\nkeys = ["*"]\n');
  assert.ok('profile' in min);
  assert.deepEqual([min.profile.reveal, min.profile.peer, min.profile.requireToken, min.profile.commands.length, min.profile.env.size], [false, 'same-uid', false, 0, 0]);
  const uids = parseProfile('u', F, 'projects = ["a"]\nkeys = ["*"]\npeer = [1001, 2000]\n');
  assert.ok('profile' in uids && Array.isArray(uids.profile.peer) && uids.profile.peer.join() === '1001,2000');
});

test('an unknown field is refused with file and line', () => {
  const probs = problemsOf('projects = ["a"]\nkeys = ["*"]\n\nrevael = true\n');
  assert.deepEqual(
    probs.map((p) => p.line),
    [4],
  );
  assert.match(probs[0]!.message, /unknown field "revael"/);
  const table = problemsOf('projects = ["a"]\nkeys = ["*"]\n[extra]\nx = 1\n');
  assert.deepEqual(
    table.map((p) => p.line),
    [3],
  );
  const r = parseProfile('ci', F, 'projects = ["a"]\nkeys = ["*"]\n\nrevael = true\n');
  assert.ok('problems' in r && r.problems[0]!.file === F);
});

test('bad types are refused with the line of the field', () => {
  const cases: [string, number, RegExp][] = [
    ['projects = "work"\nkeys = ["*"]\n', 1, /projects must be a non-empty list/],
    ['projects = ["a"]\nkeys = ["A-B"]\n', 2, /keys: "A-B" is not one of key globs/],
    ['projects = ["a"]\nkeys = ["*"]\nreveal = "yes"\n', 3, /reveal must be true or false/],
    ['projects = ["a"]\nkeys = ["*"]\npeer = "everyone"\n', 3, /peer must be/],
    ['projects = ["a"]\nkeys = ["*"]\npeer = [-1]\n', 3, /peer must be/],
    ['projects = ["a"]\nkeys = ["*"]\ncommands = ["curl"]\n', 3, /commands: "curl"/],
    ['projects = ["a"]\nkeys = ["*"]\ncommands = ["/usr/../bin/sh"]\n', 3, /commands/],
    ['projects = ["a"]\nkeys = ["*"]\nrate_limit = "lots"\n', 3, /rate_limit/],
    ['projects = ["a"]\nkeys = ["*"]\nrate_limit = 100\n', 3, /rate_limit/],
    ['projects = ["a"]\nkeys = ["*"]\nttl = "forever"\n', 3, /ttl/],
    ['projects = ["a"]\nkeys = ["*"]\nttl = "0"\n', 3, /ttl must be more than 0/],
    ['projects = ["a"]\nkeys = ["*"]\nrequire_token = 1\n', 3, /require_token/],
    ['projects = ["a"]\nkeys = ["*"]\n[env]\nOK = "1"\nLD_PRELOAD = "/tmp/x.so"\n', 5, /refusing LD_PRELOAD/],
    ['projects = ["a"]\nkeys = ["*"]\n[env]\nNODE_OPTIONS = "--require x"\n', 4, /refusing NODE_OPTIONS/],
    ['projects = ["a"]\nkeys = ["*"]\n[env]\nN = 3\n', 4, /env: N must be a string/],
    ['projects = ["a"]\nkeys = ["*"]\nenv = "A=1"\n', 3, /env must be a table/],
  ];
  for (const [text, line, re] of cases) {
    const probs = problemsOf(text);
    assert.equal(probs[0]?.line, line, text);
    assert.match(probs[0].message, re, text);
  }
  const missing = problemsOf('keys = ["*"]\n');
  assert.match(missing[0]!.message, /projects is missing/);
});

test('bad TOML is refused with the line smol-toml reports', () => {
  const probs = problemsOf('projects = ["a"]\nkeys = ["*"\nreveal = true\n');
  assert.equal(probs.length, 1);
  assert.ok(probs[0]!.line === 2 || probs[0]!.line === 3, `line ${String(probs[0]!.line)}`);
  assert.match(probs[0]!.message, /^bad TOML \(column \d+\)/);
  assert.doesNotMatch(probs[0]!.message, /\n/, 'one line, without the code block');
  const dup = problemsOf('projects = ["a"]\nkeys = ["*"]\nreveal = true\nreveal = false\n');
  assert.equal(dup[0]!.line, 4);
});

test('a bad profile name is refused', () => {
  assert.match(problemsOf('projects = ["a"]\nkeys = ["*"]\n', 'has.dot')[0]!.message, /profile name/);
  assert.match(problemsOf('projects = ["a"]\nkeys = ["*"]\n', '-x')[0]!.message, /profile name/);
});

test('lineOf finds keys at the top level and in a table, quoted or not', () => {
  const t = 'a = 1\n"b" = 2\n[env]\nX = "1"\n[other]\na = 3\n';
  assert.equal(lineOf(t, 'a'), 1);
  assert.equal(lineOf(t, 'b'), 2);
  assert.equal(lineOf(t, 'env'), 3);
  assert.equal(lineOf(t, 'X', 'env'), 4);
  assert.equal(lineOf(t, 'a', 'other'), 6);
  assert.equal(lineOf(t, 'zz'), null);
});

test('no valid profile: a directory without one is refused; a missing directory is none', () => {
  const h = home();
  try {
    assert.deepEqual(profilesLoader({ home: h.dir }).load().profiles.size, 0);
    fs.mkdirSync(h.profiles, { mode: 0o700 });
    fs.writeFileSync(path.join(h.profiles, 'README'), 'not a profile\n');
    assert.throws(
      () => profilesLoader({ home: h.dir }).load(),
      (e: unknown) => e instanceof SesameError && e.code === 'INVALID' && e.message.includes(h.profiles) && /holds no profile/.test(e.message),
    );
  } finally {
    h.done();
  }
});

test('the loader names the file and line of the first problem, and loads good profiles by name', () => {
  const h = home();
  try {
    fs.mkdirSync(h.profiles, { mode: 0o700 });
    fs.writeFileSync(path.join(h.profiles, 'ci.toml'), GOOD, { mode: 0o644 });
    fs.writeFileSync(path.join(h.profiles, '.ci.toml.swp'), 'junk', { mode: 0o644 });
    const ok = profilesLoader({ home: h.dir }).load();
    assert.deepEqual([...ok.profiles.keys()], ['ci']);
    const bad = path.join(h.profiles, 'box.toml');
    fs.writeFileSync(bad, 'projects = ["a"]\nkeys = ["*"]\nsurprise = 1\n', { mode: 0o644 });
    assert.throws(
      () => profilesLoader({ home: h.dir }).load(),
      (e: unknown) => e instanceof SesameError && e.code === 'INVALID' && e.message.includes(`${bad}:3`) && e.detail?.file === bad && e.detail.line === 3,
    );
    fs.writeFileSync(path.join(h.profiles, 'zz.toml'), 'projects = 1\nkeys = 2\n', { mode: 0o644 });
    const all = loadProfiles(h.profiles);
    assert.equal(all.problems.length, 3, 'every problem is collected (for profile check)');
    assert.deepEqual([...all.profiles.keys()], ['ci']);
  } finally {
    h.done();
  }
});

test('a profile writable by others, a symlinked profile or a loose directory is refused', () => {
  const h = home();
  try {
    fs.mkdirSync(h.profiles, { mode: 0o700 });
    const f = path.join(h.profiles, 'ci.toml');
    fs.writeFileSync(f, GOOD);
    fs.chmodSync(f, 0o666);
    assert.match(loadProfiles(h.profiles).problems[0]!.message, /writable by group or others/);
    fs.chmodSync(f, 0o644);
    fs.renameSync(f, path.join(h.dir, 'real.toml'));
    fs.symlinkSync(path.join(h.dir, 'real.toml'), f);
    assert.match(loadProfiles(h.profiles).problems[0]!.message, /symlink/);
    fs.unlinkSync(f);
    fs.renameSync(path.join(h.dir, 'real.toml'), f);
    fs.chmodSync(h.profiles, 0o777);
    assert.match(loadProfiles(h.profiles).problems[0]!.message, /writable by group or others/);
  } finally {
    h.done();
  }
});
