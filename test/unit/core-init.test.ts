/**
 * `init` is a core call (core/vault/init.ts): idempotent, and `--force` keeps the old vault
 * as a private backup written through the secure-file writer (never fs.copyFileSync, never
 * over an existing file), under the vault lock. The command in src/cli only supplies the
 * confirmation and the passphrase.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { homePaths } from '../../src/core/paths.js';
import { backupName, initVault, type InitDeps } from '../../src/core/vault/init.js';
import { SesameError } from '../../src/core/errors.js';

const KDF = { opslimit: 1, memlimit: 8 * 1024 * 1024 };
const WHEN = new Date('2026-11-30T12:00:00.000Z');

function home(t: { after: (fn: () => void) => void }): ReturnType<typeof homePaths> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-core-init-'));
  t.after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return homePaths(path.join(dir, 'home'));
}

function deps(paths: ReturnType<typeof homePaths>, over: Partial<InitDeps> = {}): InitDeps & { asked: number } {
  const d = {
    asked: 0,
    paths,
    env: {},
    now: () => WHEN,
    confirmReplace: () => Promise.resolve(),
    newPassphrase: () => {
      d.asked++;
      return Promise.resolve(Buffer.from('correct horse battery staple'));
    },
    ...over,
  };
  return d;
}

test('init creates a 0700 home and a 0600 vault, and a second init changes nothing and asks nothing', async (t) => {
  const p = home(t);
  const r = await initVault({ force: false, kdf: KDF }, deps(p));
  assert.ok(r.created && /^[A-Za-z0-9_-]+$/.test(r.vaultId));
  assert.equal(fs.statSync(p.home).mode & 0o777, 0o700);
  assert.equal(fs.statSync(p.vault).mode & 0o777, 0o600);
  const before = fs.readFileSync(p.vault);
  const d = deps(p);
  assert.deepEqual(await initVault({ force: false, kdf: KDF }, d), { created: false, vault: p.vault });
  assert.equal(d.asked, 0, 'no passphrase asked');
  assert.deepEqual(fs.readFileSync(p.vault), before);
});

test('init --force keeps the old vault as a private 0600 backup, byte for byte, then replaces it', async (t) => {
  const p = home(t);
  await initVault({ force: false, kdf: KDF }, deps(p));
  const old = fs.readFileSync(p.vault);
  const r = await initVault({ force: true, kdf: KDF }, deps(p));
  assert.ok(r.created);
  assert.equal(r.backup, backupName(p.vault, WHEN));
  assert.deepEqual(fs.readFileSync(r.backup), old);
  assert.equal(fs.statSync(r.backup).mode & 0o777, 0o600);
  assert.notDeepEqual(fs.readFileSync(p.vault), old, 'a new vault');
  assert.deepEqual(
    fs.readdirSync(p.home).filter((n) => n.includes('.tmp-')),
    [],
    'no temp file left',
  );
});

test('init --force never writes its backup over an existing file (a planted symlink included), and then keeps the vault', async (t) => {
  const p = home(t);
  await initVault({ force: false, kdf: KDF }, deps(p));
  const old = fs.readFileSync(p.vault);
  const target = path.join(path.dirname(p.home), 'elsewhere');
  fs.writeFileSync(target, 'do not touch');
  fs.symlinkSync(target, backupName(p.vault, WHEN));
  await assert.rejects(initVault({ force: true, kdf: KDF }, deps(p)), (e: unknown) => e instanceof SesameError && e.detail?.errno === 'EEXIST');
  assert.equal(fs.readFileSync(target, 'utf8'), 'do not touch');
  assert.deepEqual(fs.readFileSync(p.vault), old, 'the old vault stays when the backup cannot be made');
});

test('init --force that is not confirmed changes nothing and never asks for a passphrase', async (t) => {
  const p = home(t);
  await initVault({ force: false, kdf: KDF }, deps(p));
  const old = fs.readFileSync(p.vault);
  const d = deps(p, {
    confirmReplace: () => Promise.reject(new SesameError('USAGE', 'not confirmed')),
  });
  await assert.rejects(initVault({ force: true, kdf: KDF }, d), /not confirmed/);
  assert.equal(d.asked, 0);
  assert.deepEqual(fs.readFileSync(p.vault), old);
  assert.equal(fs.readdirSync(p.home).filter((n) => n.endsWith('.bak')).length, 0);
});

test('init --force refuses to copy a vault file with loose permissions (INSECURE) and replaces nothing', async (t) => {
  const p = home(t);
  await initVault({ force: false, kdf: KDF }, deps(p));
  fs.chmodSync(p.vault, 0o644);
  const old = fs.readFileSync(p.vault);
  await assert.rejects(initVault({ force: true, kdf: KDF }, deps(p)), (e: unknown) => e instanceof SesameError && e.code === 'INSECURE');
  assert.deepEqual(fs.readFileSync(p.vault), old);
});

test('no command copies a file around the secure-file writer, and init and projects commands do no file work themselves', () => {
  const walk = (d: string): string[] =>
    fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith('.ts') ? [path.join(d, e.name)] : []));
  for (const f of walk(path.join(ROOT, 'src'))) assert.doesNotMatch(fs.readFileSync(f, 'utf8'), /copyFileSync|\bcopyFile\(|cpSync/, path.relative(ROOT, f));
  for (const c of ['init', 'projects', 'import']) {
    const text = fs.readFileSync(path.join(ROOT, `src/cli/commands/${c}.ts`), 'utf8');
    assert.doesNotMatch(text, /from 'node:fs'|mutateVault|writeFileAtomic|readVault/, `${c}.ts is usage, options and one core call`);
  }
});
