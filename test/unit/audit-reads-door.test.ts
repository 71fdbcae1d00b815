// The audit hook at the plaintext door (src/core/access.ts + src/core/audit/access-hook.ts,
// agent-audit.ts) and the agent's kept-open log (log.ts `keepOpen`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SesameError } from '../../src/core/errors.js';
import { ownerOnlyPolicy } from '../../src/core/policy/authorize.js';
import type { Caller } from '../../src/core/policy/caller.js';
import { UnlockedVault } from '../../src/core/vault/vault.js';
import { listVisible, readOne, readSelected, vaultSource, type AccessContext } from '../../src/core/access.js';
import { AuditKey, AuditLog, auditFiles } from '../../src/core/audit/log.js';
import { SecureKey } from '../../src/core/crypto/sodium.js';
import { auditHook, requestOf, withAuditHook } from '../../src/core/audit/access-hook.js';
import { agentAudit, stopReason } from '../../src/core/audit/agent-audit.js';
import { readRecords, verifyChain } from '../../src/core/audit/verify.js';

const UID = 1000;
const VALUE = 'door-value-never-logged-5a5a';

function vault(): UnlockedVault {
  const v = UnlockedVault.create(Buffer.from('door test passphrase'), { opslimit: 1, memlimit: 8 * 1024 * 1024 });
  v.set('default', 'API_KEY', Buffer.from(VALUE));
  v.set('default', 'DB_URL', Buffer.from(`${VALUE}-db`));
  return v;
}
const owner: Caller = { uid: UID, gid: UID, pid: 4242, startTime: 1, exe: '/usr/bin/node', listener: { kind: 'owner' } };
const delegated: Caller = { ...owner, token: { id8: '0badc0de', scope: { projects: ['default'], keys: ['API_KEY'] } } };
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-audit-door-'));
const enospc = (): never => {
  throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC', syscall: 'write' });
};

test('a delegated read at the door with an unwritable log is denied (audit_unavailable) and decrypts nothing; an owner read warns and answers', async () => {
  const dir = tmp();
  const v = vault();
  try {
    const warnings: string[] = [];
    const hook = auditHook(new AuditLog(dir, undefined, { write: enospc }), (m) => warnings.push(m));
    const ctx = (c: Caller): AccessContext => ({ caller: c, policy: ownerOnlyPolicy(UID), hooks: { audit: hook } });
    let err: unknown;
    try {
      await readOne(ctx(delegated), vaultSource(v), 'default', 'API_KEY');
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof SesameError && err.code === 'DENIED', `expected DENIED, got ${String(err)}`);
    assert.equal((err.detail as { reason?: string } | undefined)?.reason, 'audit_unavailable');
    await assert.rejects(readSelected(ctx(delegated), vaultSource(v), 'default', { only: ['API_KEY'] }), /cannot be recorded/);
    const value = await readOne(ctx(owner), vaultSource(v), 'default', 'API_KEY');
    assert.equal(value.toString(), VALUE);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /NOT recorded/);
    assert.ok(!warnings[0]!.includes(VALUE));
  } finally {
    v.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the agent door records every read with via, names, peer and request id, and a hidden name with its true reason (scope)', async () => {
  const dir = tmp();
  const v = vault();
  const audit = agentAudit(dir, v.master, () => undefined);
  try {
    const door = audit.door({ readOne, readSelected, listVisible });
    const src = vaultSource(v);
    const ctx = (c: Caller, request?: string): AccessContext => ({ caller: c, policy: ownerOnlyPolicy(UID), ...(request ? { request } : {}) });
    (await door.readOne(ctx(owner, 'r-1'), src, 'default', 'API_KEY')).fill(0);
    (await door.readSelected(ctx(owner, 'a "weird"\nid'), src, 'default', { only: ['API_KEY', 'NOPE'] })).secrets.forEach(([, b]) => b.fill(0));
    await door.listVisible(ctx(owner), src, undefined);
    await assert.rejects(door.readOne(ctx(delegated, '7'), src, 'default', 'DB_URL'), (e: unknown) => e instanceof SesameError && e.code === 'NOT_FOUND');
    audit.checkpoint('agent_stop', 'SIGTERM');
    audit.close();
    const recs = readRecords(auditFiles(dir)).records;
    assert.deepEqual(
      recs.map((r) => [r.event, r.outcome, r.reason ?? '', r.via, r.keys ?? [], r.request ?? '']),
      [
        ['get', 'ok', '', 'agent', ['API_KEY'], 'r-1'],
        ['getselected', 'ok', '', 'agent', ['API_KEY'], requestOf('a "weird"\nid')],
        ['list', 'ok', '', 'agent', [], ''],
        ['get', 'denied', 'scope', 'token:0badc0de', ['DB_URL'], '7'],
        ['agent_stop', 'ok', 'signal:sigterm', 'agent', [], ''],
      ],
    );
    assert.ok(recs.every((r) => r.mac !== null && r.peer !== undefined));
    assert.deepEqual(recs[0]!.peer, { uid: UID, pid: 4242, exe: '/usr/bin/node' });
    assert.match(requestOf('a "weird"\nid'), /^h:[0-9a-f]{16}$/);
    for (const f of fs.readdirSync(dir)) assert.ok(!fs.readFileSync(path.join(dir, f), 'utf8').includes(VALUE), `${f} holds a value`);
  } finally {
    audit.close();
    v.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a kept-open log and other writers appending in turn keep one chain (the cached tail is used only when the file did not change)', () => {
  const dir = tmp();
  try {
    const kept = new AuditLog(dir, undefined, { keepOpen: true });
    const other = new AuditLog(dir, undefined, {});
    const small = new AuditLog(dir, undefined, { maxBytes: 4096 }); // rotates under the kept one
    const rec = { event: 'get', outcome: 'ok' as const, via: 'agent' };
    for (let i = 0; i < 60; i++) {
      kept.append(rec);
      if (i % 3 === 0) other.append({ ...rec, via: 'cli' });
      if (i % 7 === 0) small.append({ ...rec, via: 'cli', keys: ['PADDING_NAME_TO_ROTATE_SOONER'] });
    }
    kept.close();
    const recs = readRecords(auditFiles(dir)).records;
    assert.deepEqual(
      recs.map((r) => r.seq),
      recs.map((_, i) => i + 1),
    );
    const v = verifyChain(auditFiles(dir));
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.ok(
      fs.readdirSync(dir).some((f) => /^audit\.jsonl\.\d{6}$/.test(f)),
      'a rotation happened',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('stop reasons become record codes: stop, idle, ttl, signal:NAME, crash', () => {
  assert.deepEqual(['stop', 'idle', 'ttl', 'SIGINT', 'crash: uncaughtException (TypeError)', 'socket removed'].map(stopReason), ['stop', 'idle', 'ttl', 'signal:sigint', 'crash', 'socket_removed']);
});

test('withAuditHook keeps an audit hook already in the context and runs both', async () => {
  const v = vault();
  try {
    const seen: string[] = [];
    const door = withAuditHook({ readOne, readSelected, listVisible }, (e) => seen.push(`outer:${e.op}`));
    const ctx: AccessContext = { caller: owner, policy: ownerOnlyPolicy(UID), hooks: { audit: (e) => seen.push(`inner:${e.op}`) } };
    (await door.readOne(ctx, vaultSource(v), 'default', 'API_KEY')).fill(0);
    assert.deepEqual(seen, ['inner:get', 'outer:get']);
  } finally {
    v.dispose();
  }
});

test('an unkeyed get, getselected or agent_stop after keyed records is reported as forged (both read paths always have the key)', () => {
  for (const event of ['get', 'getselected', 'agent_stop']) {
    const dir = tmp();
    const key = AuditKey.fromMaster(SecureKey.random());
    try {
      const log = new AuditLog(dir, key);
      log.append({ event: 'get', outcome: 'ok', via: 'cli', keys: ['API_KEY'] });
      log.setKey(undefined);
      log.append({ event, outcome: 'ok', via: 'agent', keys: [] });
      const r = verifyChain(auditFiles(dir), key);
      assert.equal(r.ok, false, event);
      assert.equal(r.bad?.kind, 'unkeyed_after_keyed', event);
    } finally {
      key.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});
