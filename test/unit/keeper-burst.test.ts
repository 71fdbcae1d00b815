/**
 * The agent's keeper serves requests in bursts (one event-loop turn): the keys stay readable
 * only while a burst runs, and the vault file is stat'ed once per burst, not per request —
 * while a write between bursts is always seen by the next read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { homePaths, type HomePaths } from '../../src/core/paths.js';
import { createVault, mutateVault } from '../../src/core/vault/store.js';
import { SecureKey, keyWindowOpen } from '../../src/core/crypto/sodium.js';
import { VaultKeeper } from '../../src/core/agent/keeper.js';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

function fixture(): { paths: HomePaths; keeper: VaultKeeper; writer: SecureKey; cleanup(): void } {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-keeper-'));
  const paths = homePaths(path.join(base, 'home'));
  const v = createVault(paths, Buffer.from('pw'), { opslimit: 1, memlimit: 8 * 1024 * 1024 }, {});
  mutateVault(paths, v.master, {}, (u) => u.set('default', 'API', Buffer.from('one')));
  const keeper = new VaultKeeper(v.master.clone(), paths);
  const writer = v.master.clone();
  v.dispose();
  return {
    paths,
    keeper,
    writer,
    cleanup: () => {
      keeper.dispose();
      writer.dispose();
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

/** A read as a request makes it: the vault as of this burst, with its key used (made readable). */
const has = (k: VaultKeeper, key = 'API'): boolean =>
  k.with((v) => {
    v.master.use(() => undefined);
    return v.has('default', key);
  });

test('keeps the keys readable only while a burst runs, and no-access once the turn is over', async () => {
  const f = fixture();
  try {
    let master: SecureKey | undefined;
    f.keeper.with((v) => {
      v.master.use(() => undefined);
      master = v.master;
      assert.equal(keyWindowOpen(), true);
      assert.equal(v.master.readable, true, 'inside the burst the key stays readable');
    });
    assert.equal(master!.readable, true, 'still the same turn');
    await nextTurn();
    assert.equal(keyWindowOpen(), false);
    assert.equal(master!.readable, false, 'no-access once the turn is over');
  } finally {
    f.cleanup();
  }
});

test('idle() ends the burst at once: keys no-access, and the next read stats the file again', () => {
  const f = fixture();
  try {
    let master: SecureKey | undefined;
    f.keeper.with((v) => {
      v.master.use(() => undefined);
      master = v.master;
    });
    f.keeper.idle();
    assert.equal(master!.readable, false);
    assert.equal(keyWindowOpen(), false);
    const before = f.keeper.counters.stats;
    assert.equal(has(f.keeper), true);
    assert.equal(f.keeper.counters.stats, before + 1);
  } finally {
    f.cleanup();
  }
});

test('stats the vault file once per burst, never once per request', async () => {
  const f = fixture();
  try {
    const c0 = f.keeper.counters;
    for (let i = 0; i < 100; i++) assert.equal(has(f.keeper), true);
    assert.deepEqual(f.keeper.counters, { bursts: c0.bursts + 1, stats: c0.stats + 1 });
    await nextTurn();
    for (let i = 0; i < 100; i++) assert.equal(has(f.keeper), true);
    assert.deepEqual(f.keeper.counters, { bursts: c0.bursts + 2, stats: c0.stats + 2 });
  } finally {
    f.cleanup();
  }
});

test('never serves a stale vault: a write between two bursts is seen by the very next read, every time', async () => {
  const f = fixture();
  try {
    for (let i = 0; i < 200; i++) {
      mutateVault(f.paths, f.writer, {}, (u) => u.set('default', `K${i}`, Buffer.from('v')));
      assert.equal(has(f.keeper, `K${i}`), true, `round ${i}`);
      await nextTurn();
    }
    // (end-to-end, with values, through the built CLI and a busy agent: test/e2e/agent-freshness.test.ts)
  } finally {
    f.cleanup();
  }
});

test('re-reads and re-verifies a replaced file: a damaged vault fails the next burst, a repaired one serves again', async () => {
  const f = fixture();
  try {
    assert.equal(has(f.keeper), true);
    await nextTurn();
    const good = fs.readFileSync(f.paths.vault);
    const bad = Buffer.from(good);
    const at = bad.indexOf('"entries"');
    bad[at + 2] = bad[at + 2]! ^ 0x20; // one flipped letter: the file MAC no longer matches
    fs.writeFileSync(`${f.paths.vault}.tmp`, bad, { mode: 0o600 });
    fs.renameSync(`${f.paths.vault}.tmp`, f.paths.vault);
    assert.throws(
      () => has(f.keeper),
      (e: Error & { code?: string }) => e.code !== undefined && e.code !== 'NOT_FOUND',
    );
    await nextTurn();
    fs.writeFileSync(`${f.paths.vault}.tmp`, good, { mode: 0o600 });
    fs.renameSync(`${f.paths.vault}.tmp`, f.paths.vault);
    assert.equal(has(f.keeper), true);
  } finally {
    f.cleanup();
  }
});

test('dispose() inside a burst wipes the keys at once and leaves no window holding them', () => {
  const f = fixture();
  let master: SecureKey | undefined;
  f.keeper.with((v) => {
    v.master.use(() => undefined);
    master = v.master;
  });
  f.cleanup();
  assert.equal(master!.disposed, true);
  assert.equal(master!.readable, false);
  assert.equal(keyWindowOpen(), false);
});

test('a key left readable by a window really is no-access after it: touching it then kills the process (SIGSEGV)', () => {
  // In a child: capture the key's Buffer inside use() in a window, read it in the same turn
  // (allowed), then again after the window closed (the page is PROT_NONE again).
  const sodiumUrl = new URL('../../src/core/crypto/sodium.js', import.meta.url).href;
  const script = (touchAfter: boolean): string => `
    const { SecureKey, openKeyWindow } = await import(${JSON.stringify(sodiumUrl)});
    const k = SecureKey.random();
    let leaked;
    openKeyWindow();
    k.use((b) => { leaked = b; });
    let sum = 0;
    for (const x of leaked) sum += x; // same turn: readable
    setImmediate(() => setImmediate(() => {
      if (${String(touchAfter)}) for (const x of leaked) sum += x;
      process.stdout.write('survived ' + (sum >= 0));
    }));`;
  const run = (touchAfter: boolean) => spawnSync(process.execPath, ['--input-type=module', '-e', script(touchAfter)], { encoding: 'utf8', cwd: path.dirname(fileURLToPath(import.meta.url)) });
  const control = run(false);
  assert.equal(control.status, 0, control.stderr);
  assert.equal(control.stdout, 'survived true');
  const r = run(true);
  assert.equal(r.signal, 'SIGSEGV', `expected a fault after the window closed; got status ${String(r.status)}, ${r.stdout} ${r.stderr.slice(0, 300)}`);
});
