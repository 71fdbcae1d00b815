/**
 * A v2 request's declared client (`client`: docs/spec/agent-protocol.md, "client: a declared
 * front end"): its form is checked on every op (bad form → bad_args, never echoed), it rides
 * on the request as a label, and the audit records it as client_via / client_declared beside
 * `via`, which it never changes. A name the client chose is kept only in a narrow shape.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decodeLine, decodeV2, clientArg } from '../../src/core/agent/protocol-v2.js';
import { accessRecord, clientDeclaredOf } from '../../src/core/audit/access-hook.js';
import { checkInput, recordBody } from '../../src/core/audit/record.js';
import { SesameError } from '../../src/core/errors.js';
import type { AccessEvent } from '../../src/core/access.js';
import type { Caller } from '../../src/core/policy/caller.js';

const CLIENT = { via: 'mcp', name: 'claude-desktop', version: '0.9.2' };
const line = (o: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify({ v: 2, id: 7, ...o }));
const reasonOf = (d: ReturnType<typeof decodeV2>): unknown => (d.ok ? 'accepted' : d.error.detail?.reason);

test('every v2 op takes the optional client member, and the request carries it as given', () => {
  const reqs: Array<Record<string, unknown>> = [
    { op: 'status' },
    { op: 'get', project: 'default', key: 'API_KEY' },
    { op: 'getfd', project: 'default', key: 'API_KEY' },
    { op: 'getselected', project: 'default' },
    { op: 'list' },
    { op: 'exec', project: 'default', argv: ['env'] },
    { op: 'check', what: 'get', project: 'default', key: 'API_KEY' },
    { op: 'approvals' },
    { op: 'stop' },
  ];
  for (const r of reqs) {
    const d = decodeLine(line({ ...r, client: CLIENT }));
    assert.ok(d.ok, `${String(r.op)}: ${d.ok ? '' : d.error.message}`);
    assert.ok(d.req.v === 2);
    assert.deepEqual(d.req.client, CLIENT, String(r.op));
    const without = decodeLine(line(r));
    assert.ok(without.ok && without.req.v === 2 && without.req.client === undefined, String(r.op));
  }
});

test('a client of the wrong form is bad_args, and the refusal never echoes what was sent', () => {
  const marker = 'ECHO-MARKER-91';
  const bad: unknown[] = [
    null,
    'mcp',
    [CLIENT],
    { name: 'x', version: '1' },
    { ...CLIENT, via: 'web' },
    { ...CLIENT, via: 'MCP' },
    { ...CLIENT, name: '' },
    { ...CLIENT, version: '' },
    { ...CLIENT, name: 'x'.repeat(65) },
    { ...CLIENT, version: `${marker}${'9'.repeat(60)}` },
    { ...CLIENT, name: `line\nbreak${marker}` },
    { ...CLIENT, name: `caf\u00e9${marker}` },
    { ...CLIENT, name: `tab\t${marker}` },
    { ...CLIENT, name: 42 },
    { ...CLIENT, extra: marker },
  ];
  for (const c of bad) {
    const d = decodeLine(line({ op: 'get', project: 'default', key: 'K', client: c }));
    assert.equal(reasonOf(d), 'bad_args', JSON.stringify(c));
    assert.ok(!d.ok && d.form === 'v2' && d.id === 7);
    if (!d.ok) assert.ok(!`${d.error.message} ${d.error.hint ?? ''}`.includes(marker), 'the refusal echoes the client');
  }
  // 64 printable characters each is the limit, space included.
  assert.deepEqual(clientArg({ via: 'mcp', name: 'n'.repeat(64), version: ' ~!' }), { via: 'mcp', name: 'n'.repeat(64), version: ' ~!' });
  assert.throws(
    () => clientArg({ via: 'mcp', name: 'n'.repeat(65), version: '1' }),
    (e: unknown) => e instanceof SesameError && e.detail?.reason === 'bad_args',
  );
});

const tokenCaller: Caller = { uid: 1000, gid: 1000, pid: 4242, startTime: 1, exe: '/usr/bin/node', listener: { kind: 'owner' }, token: { id8: '0123abcd', scope: {} } };
const ev = (client?: AccessEvent['client']): AccessEvent => ({ op: 'get', project: 'default', keys: ['API_KEY'], caller: tokenCaller, outcome: 'allow', ...(client ? { client } : {}) });
const hashOf = (name: string, version: string): string => `h:${createHash('sha256').update(`${name}\0${version}`).digest('hex').slice(0, 16)}`;

test('the audit records a declared client beside via, which stays the authenticated door', () => {
  const r = accessRecord(ev({ via: 'mcp', name: 'claude-desktop', version: '0.9.2' }));
  assert.equal(r.via, 'token:0123abcd');
  assert.equal(r.clientVia, 'mcp');
  assert.equal(r.clientDeclared, 'claude-desktop 0.9.2');
  const body = JSON.parse(recordBody(r, 1, '0'.repeat(64), new Date(0), undefined).toString()) as Record<string, unknown>;
  assert.equal(body.via, 'token:0123abcd');
  assert.equal(body.client_via, 'mcp');
  assert.equal(body.client_declared, 'claude-desktop 0.9.2');
  const none = accessRecord(ev());
  assert.ok(!('clientVia' in none) && !('clientDeclared' in none));
});

test('a declared client that claims a door, or carries free text, is recorded only as a hash', () => {
  // The attacker's claims: another door's name, JSON, a long line — none reaches the log as text, and via is untouched.
  for (const [name, version] of [
    ['token:deadbeef', '1'],
    ['cli', 'x"},"via":"cli'],
    ['h:0123456789abcdef', '1'],
    ['My Client', '1.0'],
    ['a', 'b c'],
  ] as const) {
    const d = clientDeclaredOf({ via: 'mcp', name, version });
    assert.equal(d, hashOf(name, version), `${name} ${version}`);
    const r = accessRecord(ev({ via: 'mcp', name, version }));
    assert.equal(r.via, 'token:0123abcd');
    assert.doesNotThrow(() => {
      checkInput(r);
    });
  }
  assert.equal(clientDeclaredOf({ via: 'mcp', name: 'cursor@team', version: '1.2.3-beta+4' }), 'cursor@team 1.2.3-beta+4');
});

test('a record refuses a client_declared of free text, and client_via without client_declared', () => {
  const base = { event: 'get', outcome: 'ok' as const, via: 'agent' };
  assert.throws(() => {
    checkInput({ ...base, clientVia: 'mcp', clientDeclared: 'two words here' });
  }, /client_declared/);
  assert.throws(() => {
    checkInput({ ...base, clientVia: 'mcp' });
  }, /go together/);
  assert.throws(() => {
    checkInput({ ...base, clientDeclared: 'a 1' });
  }, /go together/);
  assert.throws(() => {
    checkInput({ ...base, clientVia: 'web' as 'mcp', clientDeclared: 'a 1' });
  }, /client_via/);
  assert.doesNotThrow(() => {
    checkInput({ ...base, clientVia: 'mcp', clientDeclared: 'a 1' });
  });
});
