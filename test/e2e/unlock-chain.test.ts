import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN, PASSPHRASE, ROOT, initHome, requireTool, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { keyringTools, secretTool } from '../helpers/keyring.js';
import { accountOf, bare, keyringHome, passFile, scopeOfHome, scriptFile, sealedFile, writeConfig } from '../helpers/unlock.js';
import { storeSession } from '../../src/core/passphrase/session.js';

/** `get K` and the tier a WRONG passphrase came from (or the exit code when not exit 6). */
async function answeringTier(env: NodeJS.ProcessEnv): Promise<string> {
  const r = await sesame(['get', 'K'], { env });
  if (r.code !== 6) return `exit ${String(r.code)}`;
  const m = /wrong passphrase from (.*?): it does not open/.exec(r.stderr);
  return m ? m[1]! : r.stderr;
}

test('the chain asks env, file, session, sealed, keyring, command, prompt in that order', async (t) => {
  if (!keyringTools(t) || !requireTool(t, 'systemd-creds', 'systemd')) return;
  const { h, ks } = await keyringHome(t);
  // Every tier holds its own WRONG passphrase, so the error names the tier that answered.
  writeConfig(h, `passphrase_command = ["${scriptFile(h, 'pw.sh', 'echo wrong-command')}"]\n`);
  assert.equal(secretTool(ks, ['store', '--label=sesame test', 'service', 'sesame', 'username', accountOf(h)], 'wrong-keyring').code, 0);
  const sealed = spawnSync('systemd-creds', ['encrypt', '--with-key=host', '--name=sesame-passphrase', '-', '-'], { input: 'wrong-sealed' });
  fs.writeFileSync(sealedFile(h), sealed.stdout, { mode: 0o600 });
  storeSession({}, scopeOfHome(h), Buffer.from('wrong-session'));
  const env: NodeJS.ProcessEnv = { ...ks.env, ...bare(h), SESAME_PASSPHRASE: 'wrong-env', SESAME_PASSPHRASE_FILE: passFile(h, 'wrong', 'wrong-file') };

  assert.equal(await answeringTier(env), 'SESAME_PASSPHRASE');
  delete env.SESAME_PASSPHRASE;
  assert.equal(await answeringTier(env), 'SESAME_PASSPHRASE_FILE');
  delete env.SESAME_PASSPHRASE_FILE;
  assert.equal(await answeringTier(env), 'the session tier (this login session)');
  assert.equal((await sesame(['lock'], { env })).code, 0);
  assert.equal(await answeringTier(env), 'the sealed credential (systemd-creds)');
  fs.rmSync(sealedFile(h));
  assert.equal(await answeringTier(env), 'the OS keyring');
  assert.equal(secretTool(ks, ['clear', 'service', 'sesame', 'username', accountOf(h)]).code, 0);
  assert.equal(await answeringTier(env), 'passphrase_command');
  writeConfig(h, `passphrase_command = ["${scriptFile(h, 'pw.sh', `echo '${PASSPHRASE}'`)}"]\n`);
  assert.equal((await sesame(['get', 'K'], { env })).out, 'v\n', 'the right passphrase from the last tier opens the vault');
  fs.rmSync(path.join(h.dir, 'config.toml'));
  assert.equal(await answeringTier(env), 'exit 3', 'then only the prompt is left, and there is no terminal');
  h.cleanup();
});

const DRIVER = path.join(ROOT, 'test', 'helpers', 'pty-drive.py');

/** Runs `get K` on a real terminal where the prompt WOULD be reachable, typing nothing. */
async function getOnTty(h: TestHome): Promise<{ output: string; status: number | null }> {
  const r = await runProcess('python3', [DRIVER, '[]', process.execPath, BIN, 'get', 'K'], { env: bare(h), timeoutMs: 15_000 });
  return JSON.parse(r.out) as { output: string; status: number | null };
}

test('a failing, hanging or junk passphrase_command never falls through to the prompt', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await initHome();
  await setSecret(h, 'K', 'v');
  const cases: Array<[string, string, RegExp]> = [
    ['fails', `echo '${PASSPHRASE}'; exit 1`, /exited with status 1/],
    ['hangs', 'exec sleep 30', /did not finish within 0.5 s/],
    ['prints junk', 'printf "line one\\nline two\\n"', /more than one line/],
    ['prints nothing', 'true', /printed nothing/],
  ];
  for (const [name, body, why] of cases) {
    writeConfig(h, `passphrase_command = ["${scriptFile(h, 'pw.sh', body)}"]\npassphrase_command_timeout = 0.5\n`);
    const t0 = Date.now();
    const r = await getOnTty(h);
    assert.equal(r.status, 1, `${name}: ${r.output}`);
    assert.match(r.output, why, name);
    assert.doesNotMatch(r.output, /Passphrase for the sesame vault/, `${name}: the prompt was never reached`);
    assert.ok(!r.output.includes(PASSPHRASE), `${name}: nothing the command printed is shown`);
    assert.ok(Date.now() - t0 < 10_000, `${name}: bounded`);
  }
  writeConfig(h, `passphrase_command = ["${scriptFile(h, 'pw.sh', 'echo plausible-but-wrong')}"]\n`);
  const wrong = await getOnTty(h);
  assert.equal(wrong.status, 6, wrong.output);
  assert.doesNotMatch(wrong.output, /Passphrase for the sesame vault/);
  h.cleanup();
});

test('a passphrase_command that succeeds unlocks without any other source', async () => {
  const h = await initHome();
  await setSecret(h, 'K', 'v');
  writeConfig(h, `passphrase_command = "${scriptFile(h, 'pw.sh', `printf '%s\\n' '${PASSPHRASE}'`)}"\n`);
  const r = await sesame(['get', 'K'], { env: bare(h) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.out, 'v\n');
  h.cleanup();
});
