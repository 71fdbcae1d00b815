import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SesameError } from '../../src/core/errors.js';
import type { ProfilePolicy } from '../../src/core/policy/authorize.js';
import { PolicyStore, reloadLogLine, type PolicyLoader, type PolicyPart } from '../../src/core/policy/store.js';

const profile = (name: string): ProfilePolicy => ({ name, projects: ['app'], keys: ['*'], reveal: false, peer: 'same-uid', requireToken: false });

/** A loader whose next result the test sets: a part, or an error to throw. */
function scripted(name: string, file: string): PolicyLoader & { next: PolicyPart | Error } {
  const l = {
    name,
    file,
    next: {} as PolicyPart | Error,
    load(): PolicyPart {
      if (l.next instanceof Error) throw l.next;
      return l.next;
    },
  };
  return l;
}

test('with no loaders the policy is the owner alone, and a reload is a logged no-op', () => {
  const s = PolicyStore.open({ agentUid: 1000 });
  const before = s.current();
  assert.equal(before.agentUid, 1000);
  assert.equal(before.requireToken, false);
  assert.equal(before.tokens.length, 0);
  assert.equal(before.profiles.size, 0);
  const r = s.reload();
  assert.deepEqual(r, { ok: true, loaders: 0 });
  assert.equal(reloadLogLine(r), 'policy reloaded (0 loaders)');
  assert.deepEqual(s.current(), before);
});

test('a failing loader keeps the old snapshot in force, and the log names its file and line', () => {
  const a = scripted('profiles', '/h/profiles/a.toml');
  const b = scripted('tokens', '/h/tokens');
  a.next = { profiles: new Map([['a', profile('a')]]) };
  const s = PolicyStore.open({ agentUid: 1000, loaders: [a, b] });
  const old = s.current();
  assert.equal(old.profiles.get('a')?.name, 'a');

  // a changes, then b fails: nothing of a's change may be in force.
  a.next = { profiles: new Map([['a2', profile('a2')]]) };
  b.next = new SesameError('INVALID', 'unknown field "colour"', { detail: { file: '/h/tokens', line: 7 } });
  const r = s.reload();
  assert.equal(r.ok, false);
  assert.equal(s.current(), old, 'the very same snapshot stays');
  assert.equal(reloadLogLine(r), 'reload failed: /h/tokens:7: unknown field "colour"; old policy kept');
});

test('a loader that throws a plain error is reported with its own file and no line', () => {
  const a = scripted('tokens', '/h/tokens');
  const s = PolicyStore.open({ agentUid: 1, loaders: [a] });
  a.next = new Error('boom\nsecond line');
  assert.equal(reloadLogLine(s.reload()), 'reload failed: /h/tokens: boom second line; old policy kept');
});

test('a successful reload swaps the whole snapshot at once; the old one is unchanged', () => {
  const a = scripted('profiles', '/h/profiles');
  a.next = { profiles: new Map([['a', profile('a')]]) };
  const s = PolicyStore.open({ agentUid: 1000, loaders: [a] });
  const old = s.current();
  a.next = { profiles: new Map([['b', profile('b')]]) };
  assert.equal(reloadLogLine(s.reload()), 'policy reloaded (1 loader)');
  assert.deepEqual([...s.current().profiles.keys()], ['b']);
  assert.deepEqual([...old.profiles.keys()], ['a'], 'a request holding the old snapshot still sees it');
  assert.ok(Object.isFrozen(s.current()));
});

test('two loaders defining one profile fail the reload (old kept) and refuse the first load', () => {
  const a = scripted('one', '/h/one');
  const b = scripted('two', '/h/two');
  a.next = { profiles: new Map([['p', profile('p')]]) };
  const s = PolicyStore.open({ agentUid: 1, loaders: [a, b] });
  b.next = { profiles: new Map([['p', profile('p')]]) };
  const r = s.reload();
  assert.equal(r.ok, false);
  assert.match(reloadLogLine(r), /^reload failed: \/h\/two: profile "p" is defined twice; old policy kept$/);
  assert.throws(
    () => PolicyStore.open({ agentUid: 1, loaders: [a, b] }),
    (e: unknown) => e instanceof SesameError && e.code === 'INVALID' && /bad policy: \/h\/two: /.test(e.message),
  );
});

test('a bad file at start refuses start, naming the file and line', () => {
  const a = scripted('tokens', '/h/tokens');
  a.next = new SesameError('INVALID', 'line does not parse', { detail: { file: '/h/tokens', line: 3 } });
  assert.throws(
    () => PolicyStore.open({ agentUid: 1, loaders: [a] }),
    (e: unknown) => e instanceof SesameError && e.message === 'bad policy: /h/tokens:3: line does not parse' && (e.detail as { line?: number }).line === 3,
  );
});

test('--require-token is part of the base and survives every reload', () => {
  const s = PolicyStore.open({ agentUid: 1, requireToken: true });
  s.reload();
  assert.equal(s.current().requireToken, true);
});
