/**
 * authorize() as a table: callers × requests × expected decisions. Every access rule lives
 * in src/core/policy/authorize.ts; a row here is the promise that rule keeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Caller, Scope } from '../../src/core/policy/caller.js';
import {
  authorize,
  authorizeConnection,
  authorizeKeys,
  denialError,
  matchKeyGlob,
  isValidKeyGlob,
  ownerOnlyPolicy,
  visibleProjects,
  type AuthRequest,
  type Decision,
  type Policy,
  type ProfilePolicy,
} from '../../src/core/policy/authorize.js';

const OWNER_UID = 1000;
const FOREIGN_UID = 1001;

function caller(over: Partial<Caller> = {}): Caller {
  return { uid: OWNER_UID, gid: OWNER_UID, pid: 4242, startTime: 123456, exe: '/usr/bin/node', listener: { kind: 'owner' }, ...over };
}
const tok = (scope: Scope): Caller['token'] => ({ id8: '0badc0de', scope });

const ciProfile: ProfilePolicy = { name: 'ci', projects: ['work'], keys: ['API_*'], reveal: true, peer: 'any', requireToken: false };
const sandbox: ProfilePolicy = { name: 'sandbox', projects: ['default'], keys: ['*'], reveal: false, peer: [2000], requireToken: false };
const locked: ProfilePolicy = { name: 'locked', projects: ['default'], keys: ['*'], reveal: true, peer: 'same-uid', requireToken: true };

const today = ownerOnlyPolicy(OWNER_UID);
const withProfiles: Policy = {
  ...today,
  profiles: new Map([
    ['ci', ciProfile],
    ['sandbox', sandbox],
    ['locked', locked],
  ]),
};
const requireToken: Policy = { ...today, requireToken: true };

const owner = caller();
const foreign = caller({ uid: FOREIGN_UID, gid: FOREIGN_UID });
const onCi = caller({ uid: 2000, listener: { kind: 'profile', name: 'ci' } });
const onSandbox = caller({ uid: 2000, listener: { kind: 'profile', name: 'sandbox' } });
const onSandboxWrongUid = caller({ uid: 3000, listener: { kind: 'profile', name: 'sandbox' } });
const onGone = caller({ listener: { kind: 'profile', name: 'removed' } });
const onLocked = caller({ listener: { kind: 'profile', name: 'locked' } });
const onCell = caller({ listener: { kind: 'cell' } });
const ownerScoped = caller({ token: tok({ projects: ['default'], keys: ['DATA*'], ops: ['get', 'list'] }) });
const ownerFullToken = caller({ token: tok({}) });
const ciScoped = caller({ uid: 2000, listener: { kind: 'profile', name: 'ci' }, token: tok({ keys: ['API_TOKEN'] }) });

const get = (project: string, key: string, extra: Partial<AuthRequest> = {}): AuthRequest => ({ op: 'get', project, key, ...extra });
const sel = (project: string): AuthRequest => ({ op: 'getselected', project });

type Expect = 'allow' | { deny: string; close?: boolean; code?: string } | { hidden: { project: string; key?: string } };

const TABLE: ReadonlyArray<[string, Caller, AuthRequest, Policy, Expect]> = [
  // today's rules, unchanged
  ['the owner reads a value', owner, get('default', 'DATABASE_URL'), today, 'allow'],
  ['the owner asks status', owner, { op: 'status' }, today, 'allow'],
  ['the owner selects a project', owner, sel('work'), today, 'allow'],
  ['the owner lists', owner, { op: 'list' }, today, 'allow'],
  ['the owner stops the agent', owner, { op: 'stop' }, today, 'allow'],
  // writes (agent start --writes): the owner on the owner socket, without a token, and no one else
  ['the owner writes on the owner socket', owner, { op: 'write', project: 'default', key: 'K' }, today, 'allow'],
  ['a write with a full-scope token is refused', ownerFullToken, { op: 'write', project: 'default', key: 'K' }, today, { deny: 'owner_only' }],
  ['a write with a scoped token is refused', ownerScoped, { op: 'write', project: 'default', key: 'DATA_X' }, today, { deny: 'owner_only' }],
  ['a write on a profile socket is refused', onCi, { op: 'write', project: 'work', key: 'API_X' }, withProfiles, { deny: 'owner_only' }],
  ['a write on the cell socket is refused', onCell, { op: 'write', project: 'default', key: 'K' }, { ...today, cells: { peer: 'same-uid' } } as Policy, { deny: 'owner_only' }],
  ['a write from a foreign uid is refused and closed', foreign, { op: 'write', project: 'default', key: 'K' }, today, { deny: 'peer', close: true }],
  ['a foreign uid on the owner socket is refused and closed', foreign, get('default', 'DATABASE_URL'), today, { deny: 'peer', close: true }],
  ['a foreign uid may not even ask status', foreign, { op: 'status' }, today, { deny: 'peer', close: true }],
  ['a foreign uid may not stop', foreign, { op: 'stop' }, today, { deny: 'peer', close: true }],
  ['a truthful pid claim passes', owner, get('default', 'K', { pid: 4242 }), today, 'allow'],
  ['a false pid claim is refused and closed', owner, get('default', 'K', { pid: 1 }), today, { deny: 'pid', close: true }],
  ['a pid claim with no kernel pid is refused', caller({ pid: null }), { op: 'status', pid: 7 }, today, { deny: 'pid', close: true }],
  ['an op the policy does not know is refused (fail closed)', owner, { op: 'set', project: 'default', key: 'K' }, today, { deny: 'unknown_op', code: 'PROTOCOL' }],
  ['an op named like an object member is still unknown', owner, { op: '__proto__' }, today, { deny: 'unknown_op', code: 'PROTOCOL' }],
  // tokens
  ['a token that did not verify is refused', owner, get('default', 'K', { tokenPresented: true }), today, { deny: 'token_unknown' }],
  ['--require-token refuses the owner without one', owner, { op: 'status' }, requireToken, { deny: 'token_required' }],
  ['--require-token admits the owner with one', ownerFullToken, { op: 'stop' }, requireToken, 'allow'],
  ['a scoped token reads inside its scope', ownerScoped, get('default', 'DATABASE_URL'), today, 'allow'],
  ['a scoped token sees another project as nonexistent', ownerScoped, get('work', 'API_TOKEN'), today, { hidden: { project: 'work' } }],
  ['a scoped token sees an unmatched key as nonexistent', ownerScoped, get('default', 'TRICKY'), today, { hidden: { project: 'default', key: 'TRICKY' } }],
  ['a scoped token is refused an op outside its ops', ownerScoped, sel('default'), today, { deny: 'scope' }],
  ['a scoped token may still ask status', ownerScoped, { op: 'status' }, today, 'allow'],
  ['a scoped token may not stop the agent', ownerScoped, { op: 'stop' }, today, { deny: 'owner_only' }],
  ['an unrestricted owner token may stop the agent', ownerFullToken, { op: 'stop' }, today, 'allow'],
  // profiles
  ['a non-owner listener asking for stop is refused', onCi, { op: 'stop' }, withProfiles, { deny: 'owner_only' }],
  ['peer = any admits another uid within scope', onCi, get('work', 'API_TOKEN'), withProfiles, 'allow'],
  ['a profile hides projects outside it', onCi, get('default', 'DATABASE_URL'), withProfiles, { hidden: { project: 'default' } }],
  ['a profile hides keys outside its globs', onCi, get('work', 'OTHER'), withProfiles, { hidden: { project: 'work', key: 'OTHER' } }],
  ['peer = [uids] admits a listed uid to list', onSandbox, { op: 'list', project: 'default' }, withProfiles, 'allow'],
  ['peer = [uids] refuses an unlisted uid', onSandboxWrongUid, { op: 'status' }, withProfiles, { deny: 'peer', close: true }],
  ['reveal = false refuses get before looking at names', onSandbox, get('default', 'DATABASE_URL'), withProfiles, { deny: 'reveal' }],
  ['reveal = false refuses getselected', onSandbox, sel('nope'), withProfiles, { deny: 'reveal' }],
  ['reveal = false still allows exec in scope', onSandbox, { op: 'exec', project: 'default' }, withProfiles, 'allow'],
  ['a removed profile serves nothing', onGone, { op: 'status' }, withProfiles, { deny: 'listener', close: true }],
  ['a profile that requires a token refuses a request without one', onLocked, { op: 'status' }, withProfiles, { deny: 'token_required' }],
  ['a token on a profile narrows it further', ciScoped, get('work', 'API_OTHER'), withProfiles, { hidden: { project: 'work', key: 'API_OTHER' } }],
  ['a token on a profile still reads what both allow', ciScoped, get('work', 'API_TOKEN'), withProfiles, 'allow'],
  // cells (no cell policy yet)
  ['a cell socket without a cell policy serves nothing', onCell, { op: 'status' }, today, { deny: 'listener', close: true }],
  ['a cell may ask status under a cell policy', onCell, { op: 'status' }, { ...today, cells: { peer: 'any', projects: [], keys: [] } }, 'allow'],
  ['a cell may not get values yet', onCell, get('default', 'K'), { ...today, cells: { peer: 'any', projects: ['default'], keys: ['*'] } }, { deny: 'scope' }],
  ['a cell may not stop the agent', onCell, { op: 'stop' }, { ...today, cells: { peer: 'any', projects: [], keys: [] } }, { deny: 'owner_only' }],
];

function check(d: Decision, e: Expect, name: string): void {
  if (e === 'allow') {
    assert.equal(d.allow, true, `${name}: ${JSON.stringify(d)}`);
    return;
  }
  assert.equal(d.allow, false, `${name}: allowed`);
  if (d.allow) return;
  if ('hidden' in e) {
    assert.ok(d.hidden, `${name}: expected a hidden denial, got ${JSON.stringify(d)}`);
    if (d.hidden) assert.deepEqual(d.notFound, e.hidden, name);
    return;
  }
  assert.ok(!d.hidden, `${name}: expected an open denial, got a hidden one`);
  if (d.hidden) return;
  assert.equal(d.reason, e.deny, name);
  assert.equal(d.close, e.close ?? false, `${name}: close`);
  assert.equal(d.code, e.code ?? 'DENIED', `${name}: code`);
  assert.ok(d.message.length > 0 && d.hint.length > 0, `${name}: message and hint`);
}

for (const [name, c, req, policy, expect] of TABLE) {
  test(`authorize: ${name}`, () => {
    check(authorize(c, req, policy), expect, name);
  });
}

test("authorize keeps today's wording for the peer and pid refusals", () => {
  const peer = authorize(foreign, { op: 'status' }, today);
  assert.ok(!peer.allow && !peer.hidden);
  if (!peer.allow && !peer.hidden) {
    assert.equal(peer.message, 'denied: the agent serves only uid 1000; you are uid 1001');
    assert.equal(peer.hint, 'run sesame as the user who started the agent');
  }
  const pid = authorize(owner, { op: 'status', pid: 99 }, today);
  assert.ok(!pid.allow && !pid.hidden && pid.message === 'denied: the request pid does not match the connecting process');
});

test('authorize is pure: the same inputs give the same decision, and nothing is mutated', () => {
  const snap = JSON.stringify([ownerScoped, [...withProfiles.profiles]]);
  for (const [, c, req, policy] of TABLE) assert.deepEqual(authorize(c, req, policy), authorize(c, req, policy));
  assert.equal(JSON.stringify([ownerScoped, [...withProfiles.profiles]]), snap);
});

test('authorizeConnection refuses a foreign uid on accept and admits the owner', () => {
  assert.equal(authorizeConnection(owner, today).allow, true);
  const d = authorizeConnection(foreign, today);
  assert.ok(!d.allow && d.reason === 'peer' && d.close);
});

test('authorizeKeys filters a selection by scope before anything is decrypted, order kept', () => {
  const names = ['TRICKY', 'DATABASE_URL', 'DATA', 'HIGH', 'DATABASE_URL'];
  assert.deepEqual(authorizeKeys(owner, 'default', names, today), { visible: names, hidden: [] });
  assert.deepEqual(authorizeKeys(ownerScoped, 'default', names, today), { visible: ['DATABASE_URL', 'DATA', 'DATABASE_URL'], hidden: ['TRICKY', 'HIGH'] });
  assert.deepEqual(authorizeKeys(ownerScoped, 'work', ['API_TOKEN'], today), { visible: [], hidden: ['API_TOKEN'] });
  assert.deepEqual(authorizeKeys(onCi, 'work', ['API_TOKEN', 'OTHER', '__proto__'], withProfiles), { visible: ['API_TOKEN'], hidden: ['OTHER', '__proto__'] });
});

test('visibleProjects lists only the projects in view', () => {
  assert.deepEqual(visibleProjects(owner, ['default', 'work'], today), ['default', 'work']);
  assert.deepEqual(visibleProjects(ownerScoped, ['default', 'work'], today), ['default']);
  assert.deepEqual(visibleProjects(onCi, ['default', 'work'], withProfiles), ['work']);
  assert.deepEqual(visibleProjects(onGone, ['default', 'work'], withProfiles), []);
});

test('an out-of-scope name is refused exactly like a nonexistent one: no reason, no message leaks', () => {
  const d = authorize(ownerScoped, get('work', 'API_TOKEN'), today);
  assert.deepEqual(Object.keys(d).sort(), ['allow', 'hidden', 'notFound', 'reason']);
});

test('key globs: * any run, ? one character, nothing else special', () => {
  const rows: Array<[string, string, boolean]> = [
    ['*', 'ANY', true],
    ['API_*', 'API_', true],
    ['API_*', 'API_TOKEN', true],
    ['API_*', 'XAPI_TOKEN', false],
    ['*_URL', 'DATABASE_URL', true],
    ['*_URL', 'DATABASE_URLS', false],
    ['A?C', 'ABC', true],
    ['A?C', 'AC', false],
    ['A*B*C', 'AxxBxxBxxC', true],
    ['A*B*C', 'AxxBxx', false],
    ['KEY', 'KEY', true],
    ['KEY', 'key', false],
  ];
  for (const [g, n, want] of rows) assert.equal(matchKeyGlob(g, n), want, `${g} ~ ${n}`);
  assert.equal(matchKeyGlob('*'.repeat(200) + 'X', 'A'.repeat(256)), false);
  assert.equal(isValidKeyGlob('API_*'), true);
  assert.equal(isValidKeyGlob('API.*'), false);
  assert.equal(isValidKeyGlob(''), false);
});

test('denialError renders an open denial as a wire error with its reason', () => {
  const d = authorize(onCi, { op: 'stop' }, withProfiles);
  assert.ok(!d.allow && !d.hidden);
  if (d.allow || d.hidden) return;
  const e = denialError(d);
  assert.equal(e.code, 'DENIED');
  assert.deepEqual(e.detail, { reason: 'owner_only' });
  assert.equal(e.message, 'denied: only the owner may stop the agent');
});

test('the policy seam stays pure: authorize imports no I/O, and neither module reaches koffi or libsodium', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const { ROOT } = await import('../helpers/cli.js');
  const src = (f: string): string => fs.readFileSync(path.join(ROOT, 'src/core/policy', f), 'utf8');
  const specs = (text: string): string[] => [...text.matchAll(/^\s*import\s+(?!type\b)[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);
  assert.deepEqual(specs(src('authorize.ts')), ['../errors.js']);
  for (const f of ['authorize.ts', 'caller.ts']) {
    const text = src(f)
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    for (const door of ['koffi', 'sodium-native', 'os/native', 'crypto/sodium', 'process.env', 'Date.now', 'performance.now']) {
      assert.ok(!text.includes(door), `${f} must not touch ${door}`);
    }
  }
  assert.deepEqual(specs(src('caller.ts')), ['node:fs']);
});
