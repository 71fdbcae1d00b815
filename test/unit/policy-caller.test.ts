/**
 * The Caller against the real /proc: start time and executable of a spawned child.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { callerFromPeer, describeCaller, parseStartTime, procReader, readStartTime, sameProcess, withToken, type ProcReader } from '../../src/core/policy/caller.js';

const linux = process.platform === 'linux';
const skip = linux ? false : process.env.CI === 'true' ? false : 'needs Linux /proc';

function child(): Promise<ChildProcess> {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    c.once('spawn', () => {
      resolve(c);
    });
    c.once('error', reject);
  });
}
async function reap(c: ChildProcess): Promise<void> {
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  await gone;
}

test('a Caller from a live child carries its kernel ids, its start time and its executable', { skip }, async () => {
  const c = await child();
  try {
    const who = callerFromPeer({ uid: process.getuid!(), gid: process.getgid!(), pid: c.pid! }, { kind: 'owner' });
    assert.equal(who.pid, c.pid);
    assert.equal(who.uid, process.getuid!());
    assert.equal(typeof who.startTime, 'number');
    assert.ok(who.startTime! > 0);
    assert.equal(who.exe, fs.realpathSync(process.execPath));
    assert.deepEqual(who.listener, { kind: 'owner' });
    assert.ok(Object.isFrozen(who));
  } finally {
    await reap(c);
  }
});

test('two different processes never share a start time with the same pid, and a process matches itself', { skip }, async () => {
  const a = await child();
  await new Promise((r) => setTimeout(r, 30)); // at least one clock tick apart
  const b = await child();
  try {
    const ca = callerFromPeer({ uid: 0, gid: 0, pid: a.pid! }, { kind: 'owner' });
    const cb = callerFromPeer({ uid: 0, gid: 0, pid: b.pid! }, { kind: 'owner' });
    assert.notEqual(ca.startTime, cb.startTime);
    assert.equal(sameProcess(ca, callerFromPeer({ uid: 0, gid: 0, pid: a.pid! }, { kind: 'owner' })), true);
    assert.equal(sameProcess(ca, { pid: a.pid!, startTime: cb.startTime }), false, 'a reused pid with another start time is another process');
  } finally {
    await reap(a);
    await reap(b);
  }
});

test('a Caller for a process that is gone has no start time and no executable', { skip }, async () => {
  const c = await child();
  const pid = c.pid!;
  await reap(c);
  const who = callerFromPeer({ uid: 1, gid: 1, pid }, { kind: 'profile', name: 'ci' });
  // The pid may already be reused; then it must describe that process consistently.
  if (who.startTime === null) assert.equal(who.exe, null);
  assert.deepEqual(who.listener, { kind: 'profile', name: 'ci' });
});

test('a Caller with no kernel pid reads nothing from /proc', () => {
  const who = callerFromPeer({ uid: 5, gid: 6, pid: null }, { kind: 'owner' });
  assert.deepEqual({ ...who }, { uid: 5, gid: 6, pid: null, listener: { kind: 'owner' }, startTime: null, exe: null });
});

test('never attributes an executable when the pid names another process between two reads', () => {
  const line = (start: number): string => `77 (a b) c) S 1 77 77 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 ${start} 1 1 1\n`;
  let reads = 0;
  const racing: ProcReader = { stat: () => line(reads++ === 0 ? 5000 : 5001), exe: () => '/usr/bin/other' };
  const raced = callerFromPeer({ uid: 1, gid: 1, pid: 77 }, { kind: 'owner' }, racing);
  assert.equal(reads, 2);
  assert.equal(raced.startTime, null);
  assert.equal(raced.exe, null);
  const steady: ProcReader = { stat: () => line(5000), exe: () => '/usr/bin/tool' };
  const ok = callerFromPeer({ uid: 1, gid: 1, pid: 77 }, { kind: 'owner' }, steady);
  assert.equal(ok.startTime, 5000);
  assert.equal(ok.exe, '/usr/bin/tool');
  const gone: ProcReader = { stat: () => null, exe: () => '/should/not/be/read' };
  assert.deepEqual([callerFromPeer({ uid: 1, gid: 1, pid: 77 }, { kind: 'owner' }, gone).exe], [null]);
});

test('reads a fake /proc root like the real one', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-proc-'));
  try {
    fs.mkdirSync(path.join(root, '77'));
    fs.writeFileSync(path.join(root, '77', 'stat'), '77 (x) S 1 77 77 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 4321 1 1 1\n');
    fs.symlinkSync('/usr/bin/tool', path.join(root, '77', 'exe'));
    assert.equal(readStartTime(77, procReader(root)), 4321);
    assert.equal(callerFromPeer({ uid: 1, gid: 1, pid: 77 }, { kind: 'owner' }, procReader(root)).exe, '/usr/bin/tool');
    assert.equal(readStartTime(78, procReader(root)), null);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('parses field 22 past a command name holding spaces and parentheses', () => {
  assert.equal(parseStartTime('1 (systemd) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 42 1 1'), 42);
  assert.equal(parseStartTime('9 (a) ) (b) R 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 987654321 0 0'), 987654321);
  assert.equal(parseStartTime('garbage'), null);
  assert.equal(parseStartTime('1 (x) S 1 2'), null);
  assert.equal(parseStartTime('1 (x) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 -5 1'), null);
});

test('withToken adds or drops a verified token without touching the original', () => {
  const base = callerFromPeer({ uid: 5, gid: 6, pid: null }, { kind: 'owner' });
  const t = withToken(base, { id8: 'abcdef01', scope: { ops: ['get'] } });
  assert.equal(base.token, undefined);
  assert.equal(t.token?.id8, 'abcdef01');
  assert.equal(withToken(t, undefined).token, undefined);
  assert.equal(describeCaller(t), 'uid 5 pid ? via owner token abcdef01');
});
