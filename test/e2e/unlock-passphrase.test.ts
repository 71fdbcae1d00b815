import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, PASSPHRASE, ROOT, initHome, requireTool, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { bare, kernelHasSession, lockHome, passFile, scriptFile, sealedFile, tierStates, writeConfig } from '../helpers/unlock.js';

const DRIVER = path.join(ROOT, 'test', 'helpers', 'pty-drive.py');

/** Runs a shell line on a real terminal (sesame is $SESAME), typing the steps. */
async function onTty(h: TestHome, line: string, steps: Array<{ expect?: string; send?: string }>, env: NodeJS.ProcessEnv = h.env): Promise<{ output: string; status: number | null }> {
  const r = await runProcess('python3', [DRIVER, JSON.stringify(steps), 'sh', '-c', line], { env: { ...env, SESAME: `${process.execPath} ${BIN}` }, timeoutMs: 30_000 });
  return JSON.parse(r.out) as { output: string; status: number | null };
}

test('seal refuses before the passphrase is acknowledged, then seals with the real systemd-creds', async (t) => {
  if (!requireTool(t, 'systemd-creds', 'systemd')) return;
  const h = await initHome();
  await setSecret(h, 'K', 'v');
  const r = await sesame(['passphrase', 'seal'], { env: h.env });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /never marked as saved elsewhere/);
  assert.match(r.stderr, /passphrase acknowledge/);
  assert.equal(fs.existsSync(sealedFile(h)), false, 'nothing was sealed');
  assert.equal((await sesame(['passphrase', 'acknowledge'], { env: h.env })).code, 0);
  const s = await sesame(['passphrase', 'seal', '--key', 'host', '--json'], { env: h.env });
  assert.equal(s.code, 0, s.stderr);
  assert.equal(JSON.parse(s.out).key, 'host');
  assert.equal(fs.statSync(sealedFile(h)).mode & 0o777, 0o600);
  assert.ok(!fs.readFileSync(sealedFile(h)).includes(Buffer.from(PASSPHRASE)));
  assert.equal((await tierStates(bare(h))).sealed!.state, 'present');
  const g = await sesame(['get', 'K'], { env: bare(h) });
  assert.equal(g.out, 'v\n', `the sealed tier unlocks: ${g.stderr}`);
  h.cleanup();
});

test('seal refuses a passphrase that does not open the vault and an unknown key', async (t) => {
  if (!requireTool(t, 'systemd-creds', 'systemd')) return;
  const h = await initHome();
  const wrong = await sesame(['passphrase', 'seal', '--yes'], { env: bare(h, { SESAME_PASSPHRASE_FILE: passFile(h, 'w', 'nope') }) });
  assert.equal(wrong.code, 6);
  assert.equal((await sesame(['passphrase', 'seal', '--yes', '--key', 'floppy'], { env: h.env })).code, 2);
  assert.equal(fs.existsSync(sealedFile(h)), false);
  h.cleanup();
});

test('a sealed credential that cannot be unsealed fails closed, even with a later tier ready', async (t) => {
  if (!requireTool(t, 'systemd-creds', 'systemd')) return;
  const h = await initHome();
  await setSecret(h, 'K', 'v');
  assert.equal((await sesame(['passphrase', 'seal', '--yes'], { env: h.env })).code, 0);
  const blob = Buffer.from(fs.readFileSync(sealedFile(h), 'utf8'), 'base64');
  const i = blob.length - 20; // inside the ciphertext: authentication must fail
  blob.writeUInt8(blob.readUInt8(i) ^ 1, i);
  fs.writeFileSync(sealedFile(h), blob.toString('base64'));
  writeConfig(h, `passphrase_command = ["${scriptFile(h, 'pw.sh', `echo '${PASSPHRASE}'`)}"]\n`);
  const g = await sesame(['get', 'K'], { env: bare(h) });
  assert.equal(g.code, 1, g.stderr);
  assert.match(g.stderr, /cannot be unsealed: .+; sesame does not fall back/);
  h.cleanup();
});

test('reveal does not reach a redirected stdout without the flag', async (t) => {
  const h = await initHome();
  const noTty = await sesame(['passphrase', 'reveal'], { env: h.env });
  assert.equal(noTty.code, 2);
  assert.equal(noTty.stdout.length, 0, 'nothing on stdout');
  assert.ok(!noTty.stderr.includes(PASSPHRASE));
  assert.match(noTty.stderr, /--allow-redirect/);
  if (!requireTool(t, 'python3', 'python3')) {
    h.cleanup();
    return;
  }
  const out = path.join(path.dirname(h.dir), 'out.txt');
  const r = await onTty(h, `$SESAME passphrase reveal > ${out}`, [{ expect: 'Press any key' }, { send: 'x' }, { expect: 'Type saved to confirm: ' }, { send: 'saved\r' }]);
  assert.equal(r.status, 0, r.output);
  assert.equal(fs.readFileSync(out, 'utf8'), '', 'the redirected stdout got nothing');
  assert.ok(r.output.includes(PASSPHRASE), 'the terminal showed it');
  assert.match(r.output, /marked as saved elsewhere/);
  const seal = await sesame(['passphrase', 'seal'], { env: h.env });
  assert.doesNotMatch(seal.stderr, /never marked as saved/, 'the offer recorded the acknowledgement');
  h.cleanup();
});

test('reveal --allow-redirect writes the passphrase alone to stdout', async () => {
  const h = await initHome();
  const r = await sesame(['passphrase', 'reveal', '--allow-redirect'], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.out, `${PASSPHRASE}\n`);
  assert.ok(!r.stderr.includes(PASSPHRASE));
  assert.match(r.stderr, /passphrase acknowledge/);
  const wrong = await sesame(['passphrase', 'reveal', '--allow-redirect'], { env: bare(h, { SESAME_PASSPHRASE_FILE: passFile(h, 'w', 'nope') }) });
  assert.equal(wrong.code, 6, 'a passphrase that does not open the vault is never revealed');
  assert.equal(wrong.out, '');
  h.cleanup();
});

test('change leaves every secret readable with the new passphrase and none with the old', async (t) => {
  if (!requireTool(t, 'systemd-creds', 'systemd') || !requireTool(t, 'keyctl', 'keyutils')) return;
  const h = await initHome();
  t.after(() => lockHome(h));
  const values: Array<[string, string, string]> = [
    ['default', 'A', 'alpha'],
    ['default', 'B', 'beta\nwith a newline'],
    ['other', 'C', 'gamma'],
  ];
  assert.equal((await sesame(['projects', 'create', 'other'], { env: h.env })).code, 0);
  for (const [p, k, v] of values) await setSecret(h, k, v, ['-p', p]);
  assert.equal((await sesame(['passphrase', 'seal', '--yes'], { env: h.env })).code, 0);
  assert.equal((await sesame(['unlock', '--force'], { env: h.env })).code, 0);
  const before = JSON.parse(fs.readFileSync(path.join(h.dir, 'vault.json'), 'utf8'));
  const c = await sesame(['passphrase', 'change', '--json'], { env: h.env, input: 'the new passphrase\n' });
  assert.equal(c.code, 0, c.stderr);
  const rep = JSON.parse(c.out);
  assert.deepEqual(rep.rewritten, ['session', 'sealed']);
  assert.deepEqual(rep.stale, ['file']);
  assert.ok(!c.out.includes('the new passphrase') && !c.stderr.includes('the new passphrase'));
  const after = JSON.parse(fs.readFileSync(path.join(h.dir, 'vault.json'), 'utf8'));
  assert.deepEqual(after.projects.other.entries.C.ct, before.projects.other.entries.C.ct, 'no value was re-encrypted');
  const newEnv = bare(h, { SESAME_PASSPHRASE_FILE: passFile(h, 'new', 'the new passphrase') });
  for (const [p, k, v] of values) {
    const g = await sesame(['get', k, '-p', p, '--no-agent'], { env: newEnv });
    assert.equal(g.out, `${v}\n`, `${p}/${k} with the new passphrase`);
    const old = await sesame(['get', k, '-p', p, '--no-agent'], { env: h.env });
    assert.equal(old.code, 6, `${p}/${k} not with the old`);
    assert.equal(old.out, '');
  }
  assert.equal((await sesame(['get', 'A'], { env: bare(h) })).out, 'alpha\n', 'the session tier was rewritten');
  await lockHome(h);
  assert.equal(kernelHasSession(h), false);
  assert.equal((await sesame(['get', 'A'], { env: bare(h) })).out, 'alpha\n', 'the sealed tier was rewritten');
  assert.equal((await sesame(['passphrase', 'seal'], { env: newEnv })).code, 2, 'the acknowledgement lapsed with the old passphrase');
  h.cleanup();
});

test('change with a wrong current passphrase or an unusable new one changes nothing', async () => {
  const h = await initHome();
  const vault = path.join(h.dir, 'vault.json');
  const before = fs.readFileSync(vault);
  const wrong = await sesame(['passphrase', 'change'], { env: bare(h, { SESAME_PASSPHRASE_FILE: passFile(h, 'w', 'nope') }), input: 'new one\n' });
  assert.equal(wrong.code, 6);
  for (const input of ['', '\n', `${PASSPHRASE}\n`, 'two\nlines\n']) {
    const r = await sesame(['passphrase', 'change'], { env: h.env, input });
    assert.equal(r.code, 1, `${JSON.stringify(input)}: ${r.stderr}`);
    assert.match(r.stderr, /nothing was changed/);
  }
  assert.deepEqual(fs.readFileSync(vault), before);
  h.cleanup();
});

test('destroy asks for a typed confirmation on a terminal and removes nothing without it', async (t) => {
  if (!requireTool(t, 'systemd-creds', 'systemd') || !requireTool(t, 'python3', 'python3')) return;
  const h = await initHome();
  assert.equal((await sesame(['passphrase', 'seal', '--yes'], { env: h.env })).code, 0);
  const no = await onTty(h, '$SESAME passphrase destroy', [{ expect: 'Type destroy to confirm: ' }, { send: 'no\r' }]);
  assert.equal(no.status, 2, no.output);
  assert.match(no.output, /UNRECOVERABLE/);
  assert.match(no.output, /never marked as saved elsewhere/);
  assert.ok(fs.existsSync(sealedFile(h)));
  const yes = await onTty(h, '$SESAME passphrase destroy', [{ expect: 'Type destroy to confirm: ' }, { send: 'destroy\r' }]);
  assert.equal(yes.status, 0, yes.output);
  assert.equal(fs.existsSync(sealedFile(h)), false);
  h.cleanup();
});

test('change keeps a running agent serving: the master key is the same', async (t) => {
  const h = await initHome();
  await setSecret(h, 'K', 'v');
  const a = await sesame(['agent', 'start', '--background', '--json'], { env: h.env });
  assert.equal(a.code, 0, a.stderr);
  t.after(async () => {
    await sesame(['agent', 'stop'], { env: h.env }); // stop it before its home goes
    h.cleanup();
  });
  const c = await sesame(['passphrase', 'change'], { env: h.env, input: 'the new passphrase\n' });
  assert.equal(c.code, 0, c.stderr);
  const g = await sesame(['get', 'K'], { env: bare(h) });
  assert.equal(g.code, 0, g.stderr);
  assert.equal(g.out, 'v\n');
});

test("a re-initialised vault never unlocks with the old vault's sealed credential", async (t) => {
  if (!requireTool(t, 'systemd-creds', 'systemd')) return;
  const h = await initHome();
  assert.equal((await sesame(['passphrase', 'seal', '--yes'], { env: h.env })).code, 0);
  const old = sealedFile(h);
  const re = await sesame(['init', '--force', '--yes', '--kdf-memory', '8', '--kdf-passes', '1'], { env: bare(h, { SESAME_PASSPHRASE_FILE: passFile(h, 'n', 'second vault pw') }) });
  assert.equal(re.code, 0, re.stderr);
  assert.ok(fs.existsSync(old), "the old credential is kept (it opens the old vault's backup)");
  const s = await tierStates(bare(h));
  assert.equal(s.sealed!.state, 'absent', "but it is not the new vault's");
  const set = await sesame(['set', 'K'], { env: bare(h, { SESAME_PASSPHRASE_FILE: passFile(h, 'n2', 'second vault pw') }), input: 'v' });
  assert.equal(set.code, 0, set.stderr); // K exists: a missing key would be reported before any unlock
  const g = await sesame(['get', 'K'], { env: bare(h) });
  assert.equal(g.code, 3, `locked, not "wrong passphrase from the sealed credential": ${g.stderr}`);
  h.cleanup();
});
