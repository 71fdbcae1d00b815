/**
 * An agent impostor of our own uid (a process listening at SESAME_AGENT_SOCK: 0600 socket,
 * 0700 directory — every path check passes) can only make the CLI fail: a reply that
 * breaks the protocol or carries a name no secret may set is refused, nothing is printed,
 * and nothing runs — not even when the output is eval'd by a real bash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, initHome, sesame, type TestHome } from '../helpers/cli.js';
import { IMPOSTOR_VALUE, startImpostor, type ImpostorMode } from '../helpers/client-impostor.js';

interface Scene {
  h: TestHome;
  env: NodeJS.ProcessEnv;
  marker: string;
  ran: string;
}

/** A vault home (no passphrase source: no silent fallback) whose SESAME_AGENT_SOCK an impostor serves. */
async function withImpostor(mode: ImpostorMode, use: (s: Scene) => Promise<void>): Promise<string> {
  const h = await initHome();
  const base = path.dirname(h.dir);
  const sockDir = path.join(base, 'run');
  fs.mkdirSync(sockDir, { mode: 0o700 });
  const sock = path.join(sockDir, 'agent.sock');
  const marker = path.join(base, 'pwned');
  const { SESAME_PASSPHRASE_FILE: _drop, ...rest } = h.env;
  const env = { ...rest, SESAME_AGENT_SOCK: sock };
  const imp = await startImpostor(sock, mode, marker);
  try {
    await use({ h, env, marker, ran: path.join(base, 'ran') });
    return imp.log();
  } finally {
    await imp.stop();
    h.cleanup();
  }
}

/** Exit 1, the protocol refusal on stderr, nothing on stdout, the impostor's value nowhere. */
function refusedAsProtocol(r: { code: number | null; stdout: Buffer; stderr: string }, label: string, why = /the agent's reply was refused and not used/): void {
  assert.equal(r.code, 1, `${label}: ${r.stderr}`);
  assert.match(r.stderr, why, label);
  assert.equal(r.stdout.length, 0, `${label}: printed ${JSON.stringify(r.stdout.toString())}`);
  assert.ok(!r.stderr.includes(IMPOSTOR_VALUE) && !r.stderr.includes('touch'), `${label}: stderr shows what the agent sent`);
}

test('control: a well-formed same-uid reply is used (the harness reaches the client)', async () => {
  await withImpostor('good', async ({ env }) => {
    const r = await sesame(['get', 'K'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, `${IMPOSTOR_VALUE}\n`);
  });
});

test('eval "$(sesame env)" never runs a key name sent as shell code; env and run refuse it, get never prints it', async () => {
  const log = await withImpostor('shellname', async ({ env, marker, ran }) => {
    for (const args of [['env'], ['env', '--format', 'fish'], ['env', '--format', 'dotenv'], ['run', '--', 'sh', '-c', `touch ${ran}`]]) {
      refusedAsProtocol(await sesame(args, { env }), args.join(' '));
    }
    // A v2 get frame defines no name: the stray member is ignored (Part 2, rule 4), never printed.
    const g = await sesame(['get', 'K'], { env });
    assert.doesNotMatch(g.out + g.stderr, /touch/);
    const b = spawnSync('bash', ['-c', 'eval "$("$0" "$1" env)"', process.execPath, BIN], { env, encoding: 'utf8' });
    assert.match(b.stderr, /refused and not used/);
    assert.equal(fs.existsSync(marker), false, 'the marker file was created: the name ran as code');
    assert.equal(fs.existsSync(ran), false, 'run started the command');
  });
  assert.match(log, /request getselected/, "the impostor was asked (the refusal is the client's)");
});

test('run never starts a command with LD_PRELOAD from an agent reply, and env never prints it', async () => {
  await withImpostor('ldpreload', async ({ env, ran }) => {
    for (const args of [['run', '--', 'sh', '-c', `touch ${ran}`], ['run', '--only', 'LD_PRELOAD', '--', 'sh', '-c', `touch ${ran}`], ['env'], ['env', '--format', 'json']]) {
      const r = await sesame(args, { env });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /refusing to set LD_PRELOAD from a secret/, args.join(' '));
      assert.equal(r.stdout.length, 0, args.join(' '));
      assert.ok(!r.stderr.includes(IMPOSTOR_VALUE));
    }
    assert.equal(fs.existsSync(ran), false, 'run started the command');
  });
});

for (const [mode, what] of [
  ['badb64', 'malformed base64'],
  ['extra', 'an extra field'],
  ['wrongid', 'a reply to another request id'],
] as const) {
  test(`get, env and run refuse ${what} from the agent and print nothing`, async () => {
    await withImpostor(mode, async ({ env, ran }) => {
      for (const args of [['get', 'K'], ['env'], ['run', '--', 'sh', '-c', `touch ${ran}`]]) refusedAsProtocol(await sesame(args, { env }), `${mode}: ${args.join(' ')}`);
      assert.equal(fs.existsSync(ran), false, 'run started the command');
    });
  });
}

test('the same name rule holds for a vault read directly: run and env refuse a vault key named LD_PRELOAD', async () => {
  const h = await initHome();
  const ran = path.join(path.dirname(h.dir), 'ran');
  try {
    const set = await sesame(['set', 'LD_PRELOAD', '--raw'], { env: h.env, input: '/nonexistent/evil.so' });
    assert.equal(set.code, 0, set.stderr);
    for (const args of [
      ['run', '--no-agent', '--', 'sh', '-c', `touch ${ran}`],
      ['env', '--no-agent'],
    ]) {
      const r = await sesame(args, { env: h.env });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /refusing to set LD_PRELOAD from a secret/);
      assert.match(r.stderr, /hint: rename the key/);
      assert.equal(r.stdout.length, 0);
      assert.ok(!r.stderr.includes('evil.so'));
    }
    const other = await sesame(['run', '--no-agent', '--only', 'NOPE', '--', 'sh', '-c', `touch ${ran}`], { env: h.env });
    assert.equal(other.code, 0, `--only leaves it out: ${other.stderr}`);
    assert.equal(fs.existsSync(ran), true);
  } finally {
    h.cleanup();
  }
});
