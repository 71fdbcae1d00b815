import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, makeHome, sesame, setSecret, PASSPHRASE } from '../helpers/cli.js';

test('init is idempotent: a second init leaves the vault untouched and says where it is', async () => {
  const h = await initHome();
  const before = fs.readFileSync(path.join(h.dir, 'vault.json'));
  const r = await sesame(['init'], { env: h.env });
  assert.equal(r.code, 0);
  assert.match(r.stderr, new RegExp(`already initialized at ${path.join(h.dir, 'vault.json')}`));
  assert.ok(fs.readFileSync(path.join(h.dir, 'vault.json')).equals(before));
  h.cleanup();
});

test('init creates a 0700 home and a 0600 vault', async () => {
  const h = await initHome();
  assert.equal(fs.statSync(h.dir).mode & 0o777, 0o700);
  assert.equal(fs.statSync(path.join(h.dir, 'vault.json')).mode & 0o777, 0o600);
  h.cleanup();
});

test('init --force without a terminal needs --yes, and then keeps a backup of the old vault', async () => {
  const h = await initHome();
  const old = JSON.parse(fs.readFileSync(path.join(h.dir, 'vault.json'), 'utf8')).vault_id;
  const r1 = await sesame(['init', '--force'], { env: h.env });
  assert.equal(r1.code, 2);
  assert.match(r1.stderr, /--yes/);
  const r2 = await sesame(['init', '--force', '--yes', '--kdf-memory', '8', '--kdf-passes', '1', '--json'], { env: h.env });
  assert.equal(r2.code, 0, r2.stderr);
  const j = JSON.parse(r2.out);
  assert.notEqual(j.vault_id, old);
  assert.equal(JSON.parse(fs.readFileSync(j.backup, 'utf8')).vault_id, old);
  assert.equal(fs.statSync(j.backup).mode & 0o777, 0o600);
  h.cleanup();
});

test('get prints only the value and a newline to stdout', async () => {
  const h = await initHome();
  await setSecret(h, 'API_KEY', 'v4lue with spaces');
  const r = await sesame(['get', 'API_KEY'], { env: h.env });
  assert.equal(r.code, 0);
  assert.equal(r.out, 'v4lue with spaces\n');
  assert.equal(r.stderr, '');
  h.cleanup();
});

test('set strips one trailing newline from stdin unless --raw', async () => {
  const h = await initHome();
  assert.equal((await sesame(['set', 'A'], { env: h.env, input: 'x\n\n' })).code, 0);
  assert.equal((await sesame(['get', 'A'], { env: h.env })).out, 'x\n\n');
  await setSecret(h, 'B', 'y\n');
  assert.equal((await sesame(['get', 'B'], { env: h.env })).out, 'y\n\n');
  h.cleanup();
});

test('a missing key exits 4 naming the key and the project', async () => {
  const h = await initHome();
  const r = await sesame(['get', 'NOPE'], { env: h.env });
  assert.equal(r.code, 4);
  assert.match(r.stderr, /NOPE/);
  assert.match(r.stderr, /project default/);
  assert.equal(r.out, '');
  h.cleanup();
});

test('no vault exits 5 and says to run init', async () => {
  const h = makeHome();
  fs.mkdirSync(h.dir, { mode: 0o700 });
  const r = await sesame(['get', 'X'], { env: h.env });
  assert.equal(r.code, 5);
  assert.match(r.stderr, /sesame init/);
  h.cleanup();
});

test('a wrong passphrase exits 6', async () => {
  const h = await initHome();
  await setSecret(h, 'X', 'v'); // an existing key: a missing one is reported before any unlock
  fs.writeFileSync(h.passFile, 'not it\n');
  const r = await sesame(['get', 'X', '--no-agent'], { env: h.env });
  assert.equal(r.code, 6);
  assert.match(r.stderr, /wrong passphrase/);
  h.cleanup();
});

test('locked with no terminal and no source exits 3, and --json gives an error object', async () => {
  const h = await initHome();
  await setSecret(h, 'X', 'v');
  const env = { ...h.env };
  delete env.SESAME_PASSPHRASE_FILE;
  const r = await sesame(['get', 'X', '--json'], { env });
  assert.equal(r.code, 3);
  const j = JSON.parse(r.out);
  assert.equal(j.error, 'locked');
  assert.match(j.message, /locked/);
  const t = await sesame(['get', 'X'], { env });
  assert.equal(t.code, 3);
  assert.match(t.stderr, /SESAME_PASSPHRASE_FILE/);
  h.cleanup();
});

test('SESAME_PASSPHRASE is accepted with a loud warning', async () => {
  const h = await initHome();
  await setSecret(h, 'K', 'v');
  const env: NodeJS.ProcessEnv = { ...h.env, SESAME_PASSPHRASE: PASSPHRASE };
  delete env.SESAME_PASSPHRASE_FILE;
  const r = await sesame(['get', 'K', '--no-agent'], { env });
  assert.equal(r.code, 0);
  assert.equal(r.out, 'v\n');
  assert.match(r.stderr, /warning: .*SESAME_PASSPHRASE.*\/proc\/PID\/environ/);
  assert.ok(!r.stderr.includes(PASSPHRASE));
  h.cleanup();
});

test('a passphrase file readable by others is refused with the chmod to run', async () => {
  const h = await initHome();
  await setSecret(h, 'K', 'v');
  fs.chmodSync(h.passFile, 0o644);
  const r = await sesame(['get', 'K', '--no-agent'], { env: h.env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /chmod 600/);
  h.cleanup();
});

test('a group- or world-accessible home is refused with the exact chmod', async () => {
  const h = await initHome();
  fs.chmodSync(h.dir, 0o755);
  const r = await sesame(['list'], { env: h.env });
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(`chmod 700 '${h.dir}'`), r.stderr);
  h.cleanup();
});

test('a symlinked vault file is refused', async () => {
  const h = await initHome();
  const v = path.join(h.dir, 'vault.json');
  fs.renameSync(v, `${v}.real`);
  fs.symlinkSync(`${v}.real`, v);
  const r = await sesame(['list'], { env: h.env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /symlink/);
  h.cleanup();
});

test('refuses an invalid key name with the rule in the message', async () => {
  const h = await initHome();
  const r = await sesame(['set', 'BAD-NAME'], { env: h.env, input: 'x' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\[A-Za-z_\]\[A-Za-z0-9_\]\*/);
  h.cleanup();
});

test('list shows names and metadata, never values', async () => {
  const h = await initHome();
  await setSecret(h, 'B_KEY', 'value-b-secret');
  await setSecret(h, 'A_KEY', 'value-a-secret', ['--high-value']);
  const r = await sesame(['list', '--json'], { env: h.env });
  assert.equal(r.code, 0);
  const j = JSON.parse(r.out);
  assert.deepEqual(
    j.keys.map((k: { key: string }) => k.key),
    ['A_KEY', 'B_KEY'],
  );
  assert.equal(j.keys[0].high_value, true);
  assert.equal(j.keys[0].version, 1);
  const t = await sesame(['list'], { env: h.env });
  for (const out of [r.out, t.out]) assert.ok(!out.includes('value-'), 'no value in list output');
  assert.match(t.out, /A_KEY/);
  h.cleanup();
});

test('rm removes a key; removing it again exits 4', async () => {
  const h = await initHome();
  await setSecret(h, 'K', 'v');
  assert.equal((await sesame(['rm', 'K'], { env: h.env })).code, 0);
  assert.equal((await sesame(['get', 'K'], { env: h.env })).code, 4);
  assert.equal((await sesame(['rm', 'K'], { env: h.env })).code, 4);
  h.cleanup();
});

test('projects keep their secrets apart; use, -p and SESAME_PROJECT select one', async () => {
  const h = await initHome();
  await setSecret(h, 'K', 'default-value');
  assert.equal((await sesame(['projects', 'create', 'work'], { env: h.env })).code, 0);
  assert.equal((await sesame(['-p', 'work', 'set', 'K', '--raw'], { env: h.env, input: 'work-value' })).code, 0);
  assert.equal((await sesame(['get', 'K'], { env: h.env })).out, 'default-value\n');
  assert.equal((await sesame(['get', 'K', '-p', 'work'], { env: h.env })).out, 'work-value\n');
  assert.equal((await sesame(['get', 'K'], { env: { ...h.env, SESAME_PROJECT: 'work' } })).out, 'work-value\n');
  assert.equal((await sesame(['projects', 'use', 'work'], { env: h.env })).code, 0);
  assert.equal((await sesame(['get', 'K'], { env: h.env })).out, 'work-value\n');
  const l = JSON.parse((await sesame(['projects', 'list', '--json'], { env: h.env })).out);
  assert.equal(l.current, 'work');
  assert.equal((await sesame(['projects', 'use', 'nope'], { env: h.env })).code, 4);
  h.cleanup();
});

test('deleting a non-empty project needs --yes', async () => {
  const h = await initHome();
  await sesame(['projects', 'create', 'tmp'], { env: h.env });
  await sesame(['-p', 'tmp', 'set', 'K'], { env: h.env, input: 'v' });
  const r = await sesame(['projects', 'delete', 'tmp'], { env: h.env });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--yes/);
  assert.equal((await sesame(['projects', 'delete', 'tmp', '--yes'], { env: h.env })).code, 0);
  assert.equal((await sesame(['get', 'K', '-p', 'tmp'], { env: h.env })).code, 4);
  h.cleanup();
});

test('import reports added, skipped and overwritten keys, and --dry-run changes nothing', async () => {
  const h = await initHome();
  await setSecret(h, 'EXISTING', 'old');
  const f = path.join(h.dir, '..', 'in.env');
  fs.writeFileSync(f, `EXISTING=new\nNEW_ONE="multi\\nline"\n# comment\nQUOTED='it"s'\n`);
  const vault = path.join(h.dir, 'vault.json');
  const before = fs.readFileSync(vault);
  const dry = await sesame(['import', f, '--dry-run', '--json'], { env: h.env });
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(JSON.parse(dry.out).added, ['NEW_ONE', 'QUOTED']);
  assert.ok(fs.readFileSync(vault).equals(before), 'dry run leaves the vault byte-identical');
  const r = await sesame(['import', f, '--json'], { env: h.env });
  const j = JSON.parse(r.out);
  assert.deepEqual([j.added, j.skipped, j.overwritten], [['NEW_ONE', 'QUOTED'], ['EXISTING'], []]);
  assert.equal((await sesame(['get', 'NEW_ONE'], { env: h.env })).out, 'multi\nline\n');
  assert.equal((await sesame(['get', 'EXISTING'], { env: h.env })).out, 'old\n');
  const o = JSON.parse((await sesame(['import', f, '--overwrite', '--json'], { env: h.env })).out);
  assert.deepEqual(o.overwritten, ['EXISTING', 'NEW_ONE', 'QUOTED']);
  assert.equal((await sesame(['get', 'EXISTING'], { env: h.env })).out, 'new\n');
  h.cleanup();
});

test('import refuses a file with invalid key names and imports nothing', async () => {
  const h = await initHome();
  const f = path.join(h.dir, '..', 'bad.env');
  fs.writeFileSync(f, 'GOOD=1\nBAD-NAME=2\n');
  const r = await sesame(['import', f], { env: h.env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /line 2: the name is not a valid key name/); // by line: an invalid "name" may be a value's fragment
  assert.equal((await sesame(['get', 'GOOD'], { env: h.env })).code, 4);
  h.cleanup();
});

test('status and whoami report the vault and unlock sources without any secret', async () => {
  const h = await initHome();
  await setSecret(h, 'K', 'status-secret-value');
  for (const cmd of ['status', 'whoami']) {
    const r = await sesame([cmd, '--json'], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.out.includes('status-secret-value') && !r.out.includes(PASSPHRASE));
    const j = JSON.parse(r.out);
    assert.equal(j.schema, 1);
    const t = await sesame([cmd], { env: h.env });
    assert.equal(t.code, 0);
  }
  const s = JSON.parse((await sesame(['status', '--json'], { env: h.env })).out);
  assert.equal(s.vault.keys, 1);
  assert.equal(s.unlock.find((t: { tier: string }) => t.tier === 'file').state, 'present');
  assert.equal(s.unlock.find((t: { tier: string }) => t.tier === 'env').state, 'absent');
  const w = JSON.parse((await sesame(['whoami', '--json'], { env: h.env })).out);
  assert.ok(w.unlock_sources.includes('file'));
  assert.match(w.vault_id, /^[0-9a-f]{32}$/);
  h.cleanup();
});

test('usage errors exit 2 with a hint', async () => {
  const h = makeHome();
  for (const args of [['frobnicate'], ['get'], ['get', '-n', 'A', 'B'], ['list', '--bogus'], ['env', '--format', 'xml']]) {
    const r = await sesame(args, { env: h.env });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^error: .*\nhint: /m);
  }
  h.cleanup();
});
