import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { SesameError } from '../../src/core/errors.js';
import { commandTier } from '../../src/core/passphrase/command.js';
import { chainHome, script, writeConfig, type ChainHome } from '../helpers/chain.js';

/** A home whose passphrase_command is a script with `body`; timeout in seconds. */
function withCommand(body: string, timeout = 5, env: NodeJS.ProcessEnv = {}): ChainHome {
  const h = chainHome(env);
  writeConfig(h, `passphrase_command = ["${script(h, 'pw.sh', body)}"]\npassphrase_command_timeout = ${timeout}\n`);
  return h;
}

const failsClosed = (what: RegExp) => (e: unknown) => e instanceof SesameError && e.code === 'UNAVAILABLE' && what.test(e.message) && /does not fall back/.test(e.message);

test('a command that succeeds gives its output minus exactly one trailing newline', async () => {
  for (const [printed, want] of [
    ['printf "pw one\\n"', 'pw one'],
    ['printf "pw \\r\\n"', 'pw '],
    ['printf "no-newline"', 'no-newline'],
    ['printf "  spaced  \\n"', '  spaced  '],
  ] as const) {
    const h = withCommand(printed);
    const v = await commandTier.fetch(h.ctx);
    assert.equal(v?.toString(), want, printed);
    h.cleanup();
  }
});

test('a command that fails closes the chain with its exit status, never its output', async () => {
  const h = withCommand('echo leaked-secret; exit 3');
  await assert.rejects(commandTier.fetch(h.ctx), (e: unknown) => failsClosed(/exited with status 3/)(e) && !(e as Error).message.includes('leaked-secret'));
  h.cleanup();
});

test('a command killed by a signal closes the chain', async () => {
  const h = withCommand('kill -9 $$');
  await assert.rejects(commandTier.fetch(h.ctx), failsClosed(/killed by SIGKILL/));
  h.cleanup();
});

test('a command that hangs is killed at its timeout and closes the chain', async () => {
  const h = withCommand('echo partial; exec sleep 30', 0.3);
  const t0 = Date.now();
  await assert.rejects(commandTier.fetch(h.ctx), failsClosed(/did not finish within 0.3 s/));
  assert.ok(Date.now() - t0 < 3000, `gave up after ${Date.now() - t0} ms`);
  h.cleanup();
});

test('a command that prints junk closes the chain: empty, several lines, a NUL, too much', async () => {
  const cases: Array<[string, RegExp]> = [
    ['printf ""', /printed nothing/],
    ['printf "\\n"', /printed nothing/],
    ['printf "one\\ntwo\\n"', /more than one line/],
    ['printf "pw\\n\\n"', /more than one line/],
    ['printf "a\\000b\\n"', /NUL/],
    ['head -c 70000 /dev/zero | tr "\\000" a', /more than 64 KiB/],
  ];
  for (const [body, why] of cases) {
    const h = withCommand(body);
    await assert.rejects(commandTier.fetch(h.ctx), failsClosed(why), body);
    h.cleanup();
  }
});

test('a configured command that does not exist closes the chain', async () => {
  const h = chainHome();
  writeConfig(h, 'passphrase_command = "/nonexistent/pw-helper"\n');
  await assert.rejects(commandTier.fetch(h.ctx), failsClosed(/not found/));
  assert.equal((await commandTier.probe(h.ctx)).state, 'unusable');
  h.cleanup();
});

test('the command gets no sesame secret in its environment and an empty stdin', async () => {
  const h = withCommand(`env > "$(dirname "$0")/env.txt"; cat > "$(dirname "$0")/stdin.txt"; echo pw`, 5, {
    SESAME_PASSPHRASE: 'env-secret',
    SESAME_AGENT_TOKEN: 'tok-secret',
    SESAME_HOME: '/some/home',
    OTHER: 'kept',
  });
  await commandTier.fetch(h.ctx);
  const env = fs.readFileSync(`${h.base}/env.txt`, 'utf8');
  assert.ok(!env.includes('env-secret') && !env.includes('tok-secret'));
  assert.match(env, /^OTHER=kept$/m);
  assert.match(env, /^SESAME_HOME=\/some\/home$/m);
  assert.equal(fs.readFileSync(`${h.base}/stdin.txt`, 'utf8'), '');
  h.cleanup();
});

test('probing the command tier never runs the command', async () => {
  const h = withCommand(`touch "$(dirname "$0")/ran"; echo pw`);
  const s = await commandTier.probe(h.ctx);
  assert.equal(s.state, 'present');
  assert.equal(fs.existsSync(`${h.base}/ran`), false);
  h.cleanup();
});

test('no passphrase_command means the tier is absent and falls through', async () => {
  const h = chainHome();
  assert.equal(await commandTier.fetch(h.ctx), null);
  assert.equal((await commandTier.probe(h.ctx)).state, 'absent');
  h.cleanup();
});
