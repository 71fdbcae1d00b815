// export, backup and backup restore through the built CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, runProcess, sesame, setSecret, BIN } from '../helpers/cli.js';

test('export prints the project as dotenv or JSON, exactly', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'A', `it's "q"`);
  await setSecret(h, 'B', 'line1\nline2');
  const d = await sesame(['export'], { env: h.env });
  assert.equal(d.code, 0, d.stderr);
  assert.equal(d.out, "A=`it's \"q\"`\nB='line1\nline2'\n");
  const j = await sesame(['export', '--format', 'json', '--only', 'B'], { env: h.env });
  assert.deepEqual(JSON.parse(j.out), { B: 'line1\nline2' });
  const miss = await sesame(['export', '--only', 'NOPE'], { env: h.env });
  assert.equal(miss.code, 4);
  assert.equal(miss.out, '');
});

test('export refuses, naming every one, the values a format cannot hold, and prints nothing', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'OK', 'fine');
  await setSecret(h, 'CR1', 'a\rb');
  await setSecret(h, 'CR2', 'c\rd');
  await setSecret(h, 'BIN', Buffer.from([0xff, 0xfe]));
  const d = await sesame(['export'], { env: h.env });
  assert.equal(d.code, 1);
  assert.equal(d.out, '', 'nothing printed');
  assert.match(d.stderr, /2 values cannot be written exactly as dotenv: CR1 \(.*carriage return.*\); CR2 /);
  assert.match(d.stderr, /hint: use --format json/);
  const j = await sesame(['export', '--format', 'json'], { env: h.env });
  assert.equal(j.code, 1);
  assert.equal(j.out, '');
  assert.match(j.stderr, /1 value cannot be written exactly as json: BIN \(is not valid UTF-8/);
  assert.equal((await sesame(['export', '--format', 'shell'], { env: h.env })).code, 2);
});

test('backup copies the encrypted vault byte for byte to a 0600 file (default name with a timestamp) and never overwrites without --force', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'A', 'v');
  const cwd = path.dirname(h.dir);
  const r = await runProcess(process.execPath, [BIN, 'backup'], { env: h.env, cwd });
  assert.equal(r.code, 0, r.stderr);
  const made = fs.readdirSync(cwd).filter((n) => /^sesame-vault-\d{8}T\d{6}Z\.json$/.test(n));
  assert.equal(made.length, 1, fs.readdirSync(cwd).join(' '));
  const file = path.join(cwd, made[0]!);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.ok(fs.readFileSync(file).equals(fs.readFileSync(path.join(h.dir, 'vault.json'))));
  fs.writeFileSync(path.join(cwd, 'keep.json'), 'mine', { mode: 0o644 });
  const refused = await sesame(['backup', path.join(cwd, 'keep.json')], { env: h.env });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /already exists; it was left as it was/);
  assert.match(refused.stderr, /--force/);
  assert.equal(fs.readFileSync(path.join(cwd, 'keep.json'), 'utf8'), 'mine');
  assert.equal((await sesame(['backup', path.join(cwd, 'keep.json'), '--force'], { env: h.env })).code, 0);
  assert.equal(fs.statSync(path.join(cwd, 'keep.json')).mode & 0o777, 0o600);
});

test('backup restore verifies the backup opens with the passphrase before replacing anything, and keeps the old vault', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'A', 'at-backup');
  const bak = path.join(path.dirname(h.dir), 'b.json');
  assert.equal((await sesame(['backup', bak], { env: h.env })).code, 0);
  await setSecret(h, 'A', 'after-backup');
  const vault = path.join(h.dir, 'vault.json');
  const current = fs.readFileSync(vault);
  // the attacker's test: a wrong passphrase and a damaged backup replace nothing
  const wrongPass = path.join(path.dirname(h.dir), 'wrong');
  fs.writeFileSync(wrongPass, 'not it\n', { mode: 0o600 });
  const wrong = await sesame(['backup', 'restore', bak], { env: { ...h.env, SESAME_PASSPHRASE_FILE: wrongPass } });
  assert.equal(wrong.code, 6, wrong.stderr);
  assert.match(wrong.stderr, /nothing was replaced/);
  const damaged = path.join(path.dirname(h.dir), 'damaged.json');
  fs.writeFileSync(damaged, fs.readFileSync(bak, 'latin1').replace('"default"', '"defaulu"'), { mode: 0o600 });
  const bad = await sesame(['backup', 'restore', damaged], { env: h.env });
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /integrity check failed/);
  assert.ok(fs.readFileSync(vault).equals(current), 'the vault was not touched');
  assert.deepEqual(
    fs.readdirSync(h.dir).filter((n) => n.includes('.bak-')),
    [],
  );
  const ok = await sesame(['backup', 'restore', bak], { env: h.env });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((await sesame(['get', 'A'], { env: h.env })).out, 'at-backup\n');
  const kept = fs.readdirSync(h.dir).filter((n) => /^vault\.json\.bak-\d{8}T\d{6}Z$/.test(n));
  assert.equal(kept.length, 1);
  assert.ok(fs.readFileSync(path.join(h.dir, kept[0]!)).equals(current), 'the old vault is kept as it was');
  assert.equal(fs.statSync(path.join(h.dir, kept[0]!)).mode & 0o777, 0o600);
});
