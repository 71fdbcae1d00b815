/**
 * The plaintext door (src/core/access.ts): authorize → approval → audit → decrypt only what
 * was allowed. Decrypts are counted by wrapping the vault's one decrypting method; values a
 * caller may not see are made undecryptable (corrupted ciphertext), so decrypting one by
 * mistake would also fail the read loudly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SesameError } from '../../src/core/errors.js';
import { ownerOnlyPolicy, type Policy } from '../../src/core/policy/authorize.js';
import type { Caller, Scope } from '../../src/core/policy/caller.js';
import { DECRYPT, UnlockedVault } from '../../src/core/vault/vault.js';
import { directContext, listVisible, readOne, readOneNow, readSelected, readSelectedNow, vaultSource, type AccessContext, type AccessEvent, type VaultSource } from '../../src/core/access.js';

const PASS = Buffer.from('test passphrase');
const CHEAP = { opslimit: 1, memlimit: 8 * 1024 * 1024 };
const UID = 1000;

const VALUES: Record<string, string> = {
  APP_A: 'value-of-app-a-7f3e',
  APP_B: 'value-of-app-b-91c2',
  APP_SECRET: 'never-decrypt-me-d00d',
  DB_URL: 'postgres://u:pw-55aa@db/x',
};

/** A vault with VALUES in `default` and one key in `work`; APP_SECRET's ciphertext is corrupted unless `intact`. */
function vault(intact = false): UnlockedVault {
  const v = UnlockedVault.create(PASS, CHEAP);
  for (const [k, val] of Object.entries(VALUES)) v.set('default', k, Buffer.from(val));
  v.createProject('work');
  v.set('work', 'W_TOKEN', Buffer.from('work-token-4411'));
  if (!intact) {
    const e = v.doc.projects.default!.entries.APP_SECRET!;
    e.ct = Buffer.alloc(Buffer.from(e.ct, 'base64').length, 7).toString('base64');
  }
  return v;
}

/** Records every name handed to the vault's decrypting method while `fn` runs. */
async function countingDecrypts<T>(fn: () => Promise<T> | T): Promise<{ result: T; decrypted: string[] }> {
  const proto = UnlockedVault.prototype;
  const original = proto[DECRYPT];
  const decrypted: string[] = [];
  proto[DECRYPT] = function (this: UnlockedVault, project: string, names: readonly string[]) {
    decrypted.push(...names.map((n) => `${project}/${n}`));
    return original.call(this, project, names);
  };
  try {
    return { result: await fn(), decrypted };
  } finally {
    proto[DECRYPT] = original;
  }
}

function caller(over: Partial<Caller> = {}): Caller {
  return { uid: UID, gid: UID, pid: 4242, startTime: 1, exe: '/usr/bin/node', listener: { kind: 'owner' }, ...over };
}
const scoped = (scope: Scope): Caller => caller({ token: { id8: '0badc0de', scope } });
const ctxOf = (c: Caller, extra: Partial<AccessContext> = {}, policy: Policy = ownerOnlyPolicy(UID)): AccessContext => ({ caller: c, policy, ...extra });

/** Only APP_A and APP_B of `default` (a token scope on the owner socket). */
const appOnly = scoped({ projects: ['default'], keys: ['APP_A', 'APP_B'] });

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<SesameError> {
  try {
    if (typeof p === 'function') p();
    else await p;
  } catch (e) {
    if (e instanceof SesameError) return e;
    throw e;
  }
  assert.fail('expected a SesameError');
}
/** An approval hook that does `f` after a turn of the event loop (as a real approval waits), then approves. */
const after = (f: () => void) => (): Promise<void> =>
  new Promise((resolve) =>
    setImmediate(() => {
      f();
      resolve();
    }),
  );
const shape = (e: SesameError) => ({ code: e.code, message: e.message, hint: e.hint, detail: e.detail, remedy: e.remedy });
const text = (b: Buffer): string => b.toString();

test('a prefix selection never decrypts a key the caller may not see', async () => {
  const v = vault();
  const src = vaultSource(v);
  const { result, decrypted } = await countingDecrypts(() => readSelected(ctxOf(appOnly), src, 'default', { prefix: 'APP_' }));
  assert.deepEqual(
    result.secrets.map(([k, b]) => [k, text(b)]),
    [
      ['APP_A', VALUES.APP_A],
      ['APP_B', VALUES.APP_B],
    ],
  );
  assert.deepEqual(result.missing, []);
  assert.deepEqual(decrypted, ['default/APP_A', 'default/APP_B']);
  // The synchronous door (v1 handlers) keeps the same promise.
  const now = await countingDecrypts(() => readSelectedNow(ctxOf(appOnly), src, 'default', {}));
  assert.deepEqual(now.decrypted, ['default/APP_A', 'default/APP_B']);
  // The owner, who may see it, does decrypt it (and the corruption is then reported).
  assert.equal((await rejection(readSelected(ctxOf(caller()), src, 'default', { prefix: 'APP_' }))).code, 'INTEGRITY');
  v.dispose();
});

test('a selection with only names never decrypts a hidden one, even when asked for it by name', async () => {
  const v = vault();
  const { result, decrypted } = await countingDecrypts(() => readSelected(ctxOf(appOnly), vaultSource(v), 'default', { only: ['APP_SECRET', 'APP_A'] }));
  assert.deepEqual(decrypted, ['default/APP_A']);
  assert.deepEqual(result.missing, ['APP_SECRET']);
  const one = await countingDecrypts(() => rejection(readOne(ctxOf(appOnly), vaultSource(v), 'default', 'APP_SECRET')));
  assert.equal(one.result.code, 'NOT_FOUND');
  assert.deepEqual(one.decrypted, []);
  v.dispose();
});

test('a hidden key is reported exactly as a missing one', async () => {
  const seen = vault(true);
  const gone = vault(true);
  gone.rm('default', 'APP_SECRET');
  const hiddenErr = await rejection(readOne(ctxOf(appOnly), vaultSource(seen), 'default', 'APP_SECRET'));
  const missingErr = await rejection(readOne(ctxOf(caller()), vaultSource(gone), 'default', 'APP_SECRET'));
  assert.deepEqual(shape(hiddenErr), shape(missingErr));
  assert.equal(hiddenErr.message, 'no key APP_SECRET in project default');

  // In getselected: listed in missing, in request order among the truly missing.
  const only = ['NOPE', 'APP_SECRET', 'APP_A', 'ZED'];
  const h = await readSelected(ctxOf(appOnly), vaultSource(seen), 'default', { only });
  const m = await readSelected(ctxOf(scoped({ keys: ['APP_A'] })), vaultSource(gone), 'default', { only });
  assert.deepEqual(h.missing, ['NOPE', 'APP_SECRET', 'ZED']);
  assert.deepEqual(h.missing, m.missing);
  // The sync door answers the same.
  assert.deepEqual(readSelectedNow(ctxOf(appOnly), vaultSource(seen), 'default', { only }).missing, h.missing);
  seen.dispose();
  gone.dispose();
});

test('a hidden project is reported exactly as a nonexistent one, for every read and for list', async () => {
  const v = vault(true);
  const noWork = scoped({ projects: ['default'] });
  const other = vault(true);
  other.deleteProject('work');
  for (const read of [
    (c: AccessContext, s: VaultSource) => readOne(c, s, 'work', 'W_TOKEN'),
    (c: AccessContext, s: VaultSource) => readSelected(c, s, 'work', { prefix: 'W' }),
    (c: AccessContext, s: VaultSource) => listVisible(c, s, 'work'),
  ]) {
    const hidden = await rejection(read(ctxOf(noWork), vaultSource(v)));
    const missing = await rejection(read(ctxOf(caller()), vaultSource(other)));
    assert.deepEqual(shape(hidden), shape(missing));
    assert.equal(hidden.message, 'project work does not exist');
  }
  // A hidden key of a project that does not exist: the project's answer, as for a missing key.
  const e = await rejection(readOne(ctxOf(scoped({ keys: ['APP_*'] })), vaultSource(v), 'nowhere', 'W_TOKEN'));
  assert.equal(e.message, 'project nowhere does not exist');
  v.dispose();
  other.dispose();
});

test('a hidden name is answered like a nonexistent one even when the vault cannot be read; an open refusal never looks at it', async () => {
  const broken: VaultSource = {
    with: () => {
      throw new SesameError('KEY_CHANGED', 'the vault key changed; restart the agent');
    },
  };
  const noWork = scoped({ projects: ['default'] });
  for (const read of [
    (c: AccessContext) => readOne(c, broken, 'work', 'W_TOKEN'),
    (c: AccessContext) => readOne(c, broken, 'default', 'APP_SECRET'),
    (c: AccessContext) => readSelected(c, broken, 'work', {}),
    (c: AccessContext) => listVisible(c, broken, 'work'),
  ]) {
    assert.deepEqual(shape(await rejection(read(ctxOf(scoped({ projects: ['default'], keys: ['APP_A'] }))))), shape(await rejection(read(ctxOf(caller())))));
    assert.equal((await rejection(read(ctxOf(noWork)))).code, 'KEY_CHANGED');
  }
  // A profile that does not reveal values is refused as itself, whatever state the vault is in.
  const profile: Policy = { ...ownerOnlyPolicy(UID), profiles: new Map([['ci', { name: 'ci', projects: ['default'], keys: ['*'], reveal: false, peer: 'same-uid', requireToken: false }]]) };
  const e = await rejection(readOne(ctxOf(caller({ listener: { kind: 'profile', name: 'ci' } }), {}, profile), broken, 'default', 'APP_A'));
  assert.deepEqual([e.code, e.detail], ['DENIED', { reason: 'reveal' }]);
});

test('list shows names and metadata of what the caller may see, never values', async () => {
  const v = vault(true);
  const all = await listVisible(ctxOf(caller()), vaultSource(v), undefined);
  assert.deepEqual(
    all.projects.map((p) => [p.name, p.keys.map((k) => k.key)]),
    [
      ['default', ['APP_A', 'APP_B', 'APP_SECRET', 'DB_URL']],
      ['work', ['W_TOKEN']],
    ],
  );
  const some = await countingDecrypts(() => listVisible(ctxOf(appOnly), vaultSource(v), undefined, 'APP_'));
  assert.deepEqual(
    some.result.projects.map((p) => [p.name, p.keys.map((k) => k.key)]),
    [['default', ['APP_A', 'APP_B']]],
  );
  assert.deepEqual(some.decrypted, []);
  const json = JSON.stringify(all);
  for (const val of Object.values(VALUES)) assert.ok(!json.includes(val));
  assert.deepEqual(Object.keys(all.projects[0]!.keys[0]!).sort(), ['created_at', 'high_value', 'key', 'updated_at', 'version']);
  v.dispose();
});

test('a cancelled request decrypts nothing', async () => {
  const v = vault(true);
  const src = vaultSource(v);
  // Cancelled while the approval waits.
  const ac1 = new AbortController();
  const waiting = await countingDecrypts(() =>
    rejection(
      readSelected(
        ctxOf(caller(), {
          signal: ac1.signal,
          hooks: {
            approve: after(() => {
              ac1.abort();
            }),
          },
        }),
        src,
        'default',
        { prefix: 'APP_' },
      ),
    ),
  );
  assert.equal(waiting.result.code, 'UNAVAILABLE');
  assert.deepEqual(waiting.decrypted, []);
  // Cancelled by the time the audit hook ran (between the hooks and the decrypt).
  const ac2 = new AbortController();
  const audited = await countingDecrypts(() =>
    rejection(
      readOne(
        ctxOf(caller(), {
          signal: ac2.signal,
          hooks: {
            audit: () => {
              ac2.abort();
            },
          },
        }),
        src,
        'default',
        'APP_A',
      ),
    ),
  );
  assert.equal(audited.result.code, 'UNAVAILABLE');
  assert.deepEqual(audited.decrypted, []);
  // Cancelled before it started.
  const ac3 = new AbortController();
  ac3.abort();
  const early = await countingDecrypts(() => rejection(() => readOneNow(ctxOf(caller(), { signal: ac3.signal }), src, 'default', 'APP_A')));
  assert.equal(early.result.code, 'UNAVAILABLE');
  assert.deepEqual(early.decrypted, []);
  v.dispose();
});

test('an approval refusal decrypts nothing and is audited as one', async () => {
  const v = vault(true);
  const events: AccessEvent[] = [];
  const hooks = {
    approve: () => Promise.reject(new SesameError('DENIED', 'denied: not approved')),
    audit: (e: AccessEvent) => void events.push(e),
  };
  const r = await countingDecrypts(() => rejection(readOne(ctxOf(caller(), { hooks }), vaultSource(v), 'default', 'DB_URL')));
  assert.equal(r.result.code, 'DENIED');
  assert.deepEqual(r.decrypted, []);
  assert.deepEqual(
    events.map((e) => [e.outcome, e.reason, e.keys]),
    [['deny', 'approval', ['DB_URL']]],
  );
  // A door that cannot wait refuses outright rather than skip the approval.
  assert.equal((await rejection(() => readOneNow(ctxOf(caller(), { hooks }), vaultSource(v), 'default', 'DB_URL'))).code, 'ERROR');
  v.dispose();
});

test('the approval hook is asked about exactly the names that will be decrypted, after authorize', async () => {
  const v = vault();
  const asked: string[][] = [];
  const hooks = {
    approve: (_c: Caller, what: { keys: readonly string[] }) =>
      after(() => {
        asked.push([...what.keys]);
      })(),
  };
  const r = await countingDecrypts(() => readSelected(ctxOf(appOnly, { hooks }), vaultSource(v), 'default', {}));
  assert.deepEqual(asked, [['APP_A', 'APP_B']]);
  assert.deepEqual(r.decrypted, ['default/APP_A', 'default/APP_B']);
  for (const [, b] of r.result.secrets) b.fill(0);
  // An open refusal comes before any hook: a cell caller may not read values at all.
  asked.length = 0;
  const e = await rejection(
    readOne(ctxOf(caller({ listener: { kind: 'cell' } }), { hooks }, { ...ownerOnlyPolicy(UID), cells: { peer: 'same-uid', projects: ['default'], keys: ['*'] } }), vaultSource(v), 'default', 'APP_A'),
  );
  assert.equal(e.code, 'DENIED');
  assert.deepEqual(asked, []);
  v.dispose();
});

test('a key removed while its approval waited is reported missing, not decrypted from a stale copy', async () => {
  const v = vault(true);
  const hooks = {
    approve: after(() => {
      v.rm('default', 'APP_B');
    }),
  };
  const r = await readSelected(ctxOf(caller(), { hooks }), vaultSource(v), 'default', { only: ['APP_B', 'APP_A'] });
  assert.deepEqual(
    r.secrets.map(([k]) => k),
    ['APP_A'],
  );
  assert.deepEqual(r.missing, ['APP_B']);
  const v2 = vault(true);
  const e = await rejection(
    readOne(
      ctxOf(caller(), {
        hooks: {
          approve: after(() => {
            v2.rm('default', 'APP_A');
          }),
        },
      }),
      vaultSource(v2),
      'default',
      'APP_A',
    ),
  );
  assert.equal(e.message, 'no key APP_A in project default');
  v.dispose();
  v2.dispose();
});

test('the audit hook sees names, never values', async () => {
  const v = vault(true);
  const events: AccessEvent[] = [];
  const hooks = { audit: (e: AccessEvent) => void events.push(e) };
  const c = ctxOf(appOnly, { hooks });
  const src = vaultSource(v);
  (await readOne(c, src, 'default', 'APP_A')).fill(0);
  for (const [, b] of (await readSelected(c, src, 'default', { only: ['APP_B', 'APP_SECRET', 'NOPE'] })).secrets) b.fill(0);
  await rejection(readOne(c, src, 'default', 'APP_SECRET'));
  await rejection(readOne(c, src, 'work', 'W_TOKEN'));
  await listVisible(c, src, undefined);
  assert.deepEqual(
    events.map((e) => [e.op, e.project, e.outcome, e.reason ?? null, e.keys]),
    [
      ['get', 'default', 'allow', null, ['APP_A']],
      ['getselected', 'default', 'allow', null, ['APP_B']],
      ['get', 'default', 'deny', 'scope', []],
      ['get', 'work', 'deny', 'scope', []],
      ['list', undefined, 'allow', null, []],
    ],
  );
  // NOPE is out of this scope too: hidden, whether or not it exists; both are missing to the caller.
  assert.deepEqual(events[1]!.hidden, ['APP_SECRET', 'NOPE']);
  assert.deepEqual(events[1]!.missing, ['APP_SECRET', 'NOPE']);
  assert.deepEqual(events[2]!.hidden, ['APP_SECRET']);
  // Nothing in an event is a Buffer, and no value (raw or base64) appears anywhere in it.
  const walk = (x: unknown, seen = new Set<unknown>()): void => {
    assert.ok(!Buffer.isBuffer(x) && !(x instanceof Uint8Array), 'an event holds bytes');
    if (x && typeof x === 'object' && !seen.has(x)) {
      seen.add(x);
      for (const y of Object.values(x)) walk(y, seen);
    }
  };
  for (const e of events) {
    walk(e);
    assert.equal(e.caller, appOnly);
    const json = JSON.stringify(e);
    for (const val of [...Object.values(VALUES), 'work-token-4411']) {
      assert.ok(!json.includes(val), `an event carries the value of a key`);
      assert.ok(!json.includes(Buffer.from(val).toString('base64')), `an event carries a value's base64`);
    }
  }
  v.dispose();
});

test('an audit hook that fails stops the read before anything is decrypted', async () => {
  const v = vault(true);
  const hooks = {
    audit: () => {
      throw new SesameError('UNAVAILABLE', 'the audit log cannot be written');
    },
  };
  const r = await countingDecrypts(() => rejection(readSelected(ctxOf(caller(), { hooks }), vaultSource(v), 'default', {})));
  assert.equal(r.result.message, 'the audit log cannot be written');
  assert.deepEqual(r.decrypted, []);
  v.dispose();
});

test('a failing audit hook answers a hidden name and a nonexistent one alike', async () => {
  const v = vault(true);
  const hooks = {
    audit: () => {
      throw new SesameError('DENIED', 'denied: the audit log cannot be written');
    },
  };
  const c = ctxOf(scoped({ projects: ['default', 'ghost'], keys: ['APP_*'] }), { hooks });
  const src = vaultSource(v);
  const pairs: Array<[() => Promise<unknown>, () => Promise<unknown>]> = [
    [() => readOne(c, src, 'default', 'DB_URL'), () => readOne(c, src, 'default', 'APP_NOPE')],
    [() => readOne(c, src, 'work', 'W_TOKEN'), () => readOne(c, src, 'ghost', 'APP_A')],
    [() => readSelected(c, src, 'work', {}), () => readSelected(c, src, 'ghost', {})],
    [() => listVisible(c, src, 'work'), () => listVisible(c, src, 'ghost')],
  ];
  for (const [hidden, absent] of pairs) {
    const h = await rejection(hidden());
    assert.deepEqual(shape(h), shape(await rejection(absent())));
    assert.equal(h.message, 'denied: the audit log cannot be written');
  }
  v.dispose();
});

test('the CLI reads directly as the owner, via cli, and sees everything', async () => {
  const ctx = directContext();
  assert.equal(ctx.caller.listener.kind, 'owner');
  assert.equal(ctx.caller.listener.via, 'cli');
  assert.equal(ctx.caller.pid, process.pid);
  assert.equal(ctx.caller.uid, process.getuid?.());
  const v = vault(true);
  const r = await readSelected(ctx, vaultSource(v), 'default', {});
  assert.deepEqual(
    r.secrets.map(([k, b]) => [k, text(b)]),
    Object.entries(VALUES),
  );
  // Values live off V8's movable heap: each has its own ArrayBuffer of exactly its size (no pool).
  for (const [, b] of r.secrets) {
    assert.equal(b.byteOffset, 0);
    assert.equal(b.buffer.byteLength, b.length);
    b.fill(0);
  }
  v.dispose();
});
