import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditLog, auditFiles } from '../../src/core/audit/log.js';
import { accessRecord, auditHook, viaOf } from '../../src/core/audit/access-hook.js';
import { readRecords } from '../../src/core/audit/verify.js';
import type { AccessEvent } from '../../src/core/access.js';
import type { Caller } from '../../src/core/policy/caller.js';
import { SesameError } from '../../src/core/errors.js';

const owner: Caller = { uid: 1000, gid: 1000, pid: 4242, startTime: 1, exe: '/usr/bin/python3', listener: { kind: 'owner' } };
const tokenCaller: Caller = { ...owner, token: { id8: '0123abcd', scope: {} } };
const ev = (caller: Caller, over: Partial<AccessEvent> = {}): AccessEvent => ({ op: 'get', project: 'default', keys: ['API_KEY'], caller, outcome: 'allow', ...over });

test('via names the door: token, cell, profile, cli, agent', () => {
  assert.equal(viaOf(tokenCaller), 'token:0123abcd');
  assert.equal(viaOf({ ...owner, cell: { id: 'c1' } }), 'cell:c1');
  assert.equal(viaOf({ ...owner, listener: { kind: 'profile', name: 'ci' } }), 'profile:ci');
  assert.equal(viaOf({ ...owner, listener: { kind: 'owner', via: 'cli' } }), 'cli');
  assert.equal(viaOf(owner), 'agent');
});

test('a denied access records the names it asked for and the reason; an allowed one the names read', () => {
  const denied = accessRecord(ev(tokenCaller, { outcome: 'deny', reason: 'scope', keys: [], hidden: ['DB_PASSWORD'] }));
  assert.deepEqual([denied.outcome, denied.reason, denied.keys, denied.via], ['denied', 'scope', ['DB_PASSWORD'], 'token:0123abcd']);
  const ok = accessRecord(ev(owner));
  assert.deepEqual([ok.event, ok.outcome, ok.keys, ok.peer], ['get', 'ok', ['API_KEY'], { uid: 1000, pid: 4242, exe: '/usr/bin/python3' }]);
});

test('a delegated read with an unwritable log is denied (audit_unavailable); an owner read warns and goes on', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-audit-hook-'));
  const full = new AuditLog(dir, undefined, {
    write: () => {
      throw Object.assign(new Error('no space'), { code: 'ENOSPC', syscall: 'write' });
    },
  });
  const warnings: string[] = [];
  const hook = auditHook(full, (m) => warnings.push(m));
  assert.throws(
    () => {
      hook(ev(tokenCaller));
    },
    (e: unknown) => e instanceof SesameError && e.code === 'DENIED' && e.detail?.reason === 'audit_unavailable',
  );
  hook(ev(owner));
  assert.equal(warnings.length, 1);
  // And a writable log gets the record.
  auditHook(new AuditLog(dir), () => undefined)(ev(tokenCaller));
  const { records } = readRecords(auditFiles(dir));
  assert.deepEqual(
    records.map((r) => [r.event, r.via, r.keys]),
    [['get', 'token:0123abcd', ['API_KEY']]],
  );
});
