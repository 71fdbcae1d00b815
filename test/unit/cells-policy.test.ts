/**
 * cells.toml and the cell rules in authorize(): a cell sees what the first rule matching its
 * id allows, nothing without a rule, only through `resolve` (read as `get` with the cell on
 * the Caller); a bad file names its line; the owner ops are refused on the cell socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Caller } from '../../src/core/policy/caller.js';
import { authorize, cellRuleFor, ownerOnlyPolicy, type Policy } from '../../src/core/policy/authorize.js';
import { parseCells } from '../../src/core/cells/policy.js';
import { SesameError } from '../../src/core/errors.js';

const cells = parseCells('peer = "any"\n[[cell]]\nid = "build-*"\nprojects = ["work"]\nkeys = ["API_*"]\n[[cell]]\nid = "*"\nprojects = ["other"]\nkeys = ["X"]\n', 'cells.toml');
const policy: Policy = { ...ownerOnlyPolicy(1000), cells };
const onCell = (id?: string): Caller => ({ uid: 1000, gid: 1000, pid: 5, startTime: 1, exe: '/bin/x', listener: { kind: 'cell' }, ...(id ? { cell: { id } } : {}) });

test('the first cells.toml rule matching a cell id decides what it may resolve', () => {
  assert.equal(cellRuleFor(policy, 'build-1')?.projects[0], 'work');
  assert.equal(cellRuleFor(policy, 'deploy')?.projects[0], 'other');
  assert.equal(authorize(onCell('build-1'), { op: 'get', project: 'work', key: 'API_A' }, policy).allow, true);
  const hidden = authorize(onCell('build-1'), { op: 'get', project: 'work', key: 'DB' }, policy);
  assert.ok(!hidden.allow && hidden.hidden, 'a key outside the rule looks like a missing one');
  assert.ok(!authorize(onCell('build-1'), { op: 'get', project: 'other', key: 'X' }, policy).allow);
});

test('a cell reads only through resolve: get without the cell on the Caller, getselected and list are refused', () => {
  for (const op of ['get', 'getselected', 'list']) {
    const d = authorize(onCell(), { op, project: 'work', ...(op === 'get' ? { key: 'API_A' } : {}) }, policy);
    assert.ok(!d.allow && !d.hidden && d.reason === 'scope', op);
  }
  assert.equal(authorize(onCell(), { op: 'resolve' }, policy).allow, true);
  const onOwner: Caller = { ...onCell(), listener: { kind: 'owner' } };
  const r = authorize(onOwner, { op: 'resolve' }, policy);
  assert.ok(!r.allow && !r.hidden && r.reason === 'scope', 'resolve is the cell socket only');
});

test('the owner ops are refused on the cell socket and with any token, even an unrestricted one', () => {
  const owner: Caller = { ...onCell(), listener: { kind: 'owner' } };
  for (const op of ['approvals', 'approve', 'deny', 'challenge', 'grant_revoke', 'cells', 'cell_revoke', 'cell_forget']) {
    assert.equal(authorize(owner, { op }, policy).allow, true, op);
    const onCellSock = authorize(onCell('build-1'), { op }, policy);
    assert.ok(!onCellSock.allow && !onCellSock.hidden && onCellSock.reason === 'owner_only', op);
    const withToken = authorize({ ...owner, token: { id8: 'abcd1234', scope: {} } }, { op, tokenPresented: true }, policy);
    assert.ok(!withToken.allow && !withToken.hidden && withToken.reason === 'owner_only', op);
  }
});

test('a bad cells.toml is refused, naming the field and its line', () => {
  for (const [text, want] of [
    ['[[cell]]\nid = "a"\nprojects = ["p"]\nkeys = ["K"]\nextra = 1\n', /:5: \[\[cell\]\]: unknown field "extra"/],
    ['peer = "everyone"\n', /:1: peer must be/],
    ['[[cell]]\nid = "a b"\nprojects = ["p"]\nkeys = ["K"]\n', /:2: \[\[cell\]\] id must be a glob/],
    ['[[cell]]\nid = "a"\nprojects = []\nkeys = ["K"]\n', /:3: \[\[cell\]\] projects must be a non-empty list/],
  ] as const) {
    assert.throws(
      () => parseCells(text, 'cells.toml'),
      (e: unknown) => e instanceof SesameError && e.code === 'INVALID' && want.test(e.message),
      text,
    );
  }
});
