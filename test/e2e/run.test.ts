import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, PASSPHRASE, initHome, runProcess, sesame, setSecret } from '../helpers/cli.js';

test('run gives the command the secrets and strips every SESAME_ control variable', async () => {
  const h = await initHome();
  await setSecret(h, 'API_KEY', 'k$(x)\n');
  const env = { ...h.env, SESAME_PASSPHRASE: PASSPHRASE, SESAME_AGENT_TOKEN: 'tok', SESAME_CELL_TOKEN: 'cell', KEEP_ME: 'yes' };
  const r = await sesame(['run', '--', 'node', '-e', 'process.stdout.write(JSON.stringify(process.env))'], { env });
  assert.equal(r.code, 0, r.stderr);
  const childEnv = JSON.parse(r.out) as Record<string, string>;
  assert.equal(childEnv.API_KEY, 'k$(x)\n');
  assert.equal(childEnv.KEEP_ME, 'yes');
  assert.deepEqual(
    Object.keys(childEnv).filter((k) => k.startsWith('SESAME_')),
    [],
  );
  h.cleanup();
});

test('run replaces sesame with the command: no parent lingers holding plaintext', async () => {
  const h = await initHome();
  const env = { ...h.env };
  const r = await runProcess('sh', ['-c', `'${process.execPath}' '${BIN}' run -- sh -c 'echo $$' & echo $!; wait`], { env });
  const [bgPid, childPid] = r.out.trim().split('\n');
  assert.equal(childPid, bgPid, 'the command runs in the pid sesame had');
  h.cleanup();
});

test('run propagates the exit code of the command', async () => {
  const h = await initHome();
  const r = await sesame(['run', '--', 'sh', '-c', 'exit 42'], { env: h.env });
  assert.equal(r.code, 42);
  h.cleanup();
});

test('run propagates a signal death: the shell sees 143 for SIGTERM', async () => {
  const h = await initHome();
  const direct = await sesame(['run', '--', 'sh', '-c', 'kill -TERM $$'], { env: h.env });
  assert.equal(direct.signal, 'SIGTERM');
  const viaShell = await runProcess('bash', ['-c', `'${process.execPath}' '${BIN}' run -- sh -c 'kill -TERM $$'; echo "status=$?"`], { env: h.env });
  assert.match(viaShell.out, /status=143/);
  h.cleanup();
});

test('run leaves SIGPIPE at its default for the command', async () => {
  const h = await initHome();
  const r = await runProcess(
    'bash',
    ['-c', `'${process.execPath}' '${BIN}' run -- sh -c 'yes | head -1 >/dev/null; exit \${PIPESTATUS:-0}' ; '${process.execPath}' '${BIN}' run -- sh -c 'grep SigIgn /proc/self/status'`],
    { env: h.env },
  );
  const ign = /SigIgn:\s*([0-9a-f]+)/.exec(r.out);
  assert.ok(ign, r.out + r.stderr);
  assert.equal(BigInt(`0x${ign[1]}`) & (1n << 12n), 0n, 'SIGPIPE (13) is not ignored');
  h.cleanup();
});

test('run of an unknown command exits 127 with a clear message', async () => {
  const h = await initHome();
  const r = await sesame(['run', '--', 'no-such-command-xyz'], { env: h.env });
  assert.equal(r.code, 127);
  assert.match(r.stderr, /command not found: no-such-command-xyz/);
  h.cleanup();
});

test('run --strict with a missing --only key exits 4 before anything runs', async () => {
  const h = await initHome();
  await setSecret(h, 'A', '1');
  const marker = path.join(h.dir, '..', 'ran');
  const r = await sesame(['run', '--only', 'A,MISSING', '--strict', '--', 'touch', marker], { env: h.env });
  assert.equal(r.code, 4);
  assert.match(r.stderr, /MISSING/);
  assert.ok(!fs.existsSync(marker));
  h.cleanup();
});

test('run passes stdin, stdout and stderr straight through to the command', async () => {
  const h = await initHome();
  const r = await sesame(['run', '--', 'sh', '-c', 'cat; echo err >&2'], { env: h.env, input: 'piped input' });
  assert.equal(r.out, 'piped input');
  assert.match(r.stderr, /err/);
  h.cleanup();
});

test('run without a command is a usage error', async () => {
  const h = await initHome();
  const r = await sesame(['run'], { env: h.env });
  assert.equal(r.code, 2);
  h.cleanup();
});
