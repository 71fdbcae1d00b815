/**
 * Everyday flow through the built CLI: `agent start` is idempotent, `agent status` does not
 * keep an agent alive, names are checked before any key derivation with "did you mean",
 * and the `get` variants (-n, --json, several keys).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, sesame, setSecret } from '../helpers/cli.js';
import { alive, sleep, startAgent, stopAgent, waitFor } from '../helpers/agent.js';

test('agent start when an agent already runs exits 0 with a note; --replace stops it and starts a new one', async () => {
  const h = await initHome();
  try {
    const first = await startAgent(h);
    const again = await sesame(['agent', 'start', '--background', '--json'], { env: h.env });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.out), { started: false, running: true, pid: first });
    assert.ok(alive(first), 'the running agent was left alone');
    const r = await sesame(['agent', 'start', '--background', '--replace', '--json'], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    const second = (JSON.parse(r.out) as { pid: number }).pid;
    assert.notEqual(second, first);
    await waitFor('the replaced agent to exit', () => !alive(first));
    const st = await sesame(['agent', 'status', '--json'], { env: h.env });
    assert.equal((JSON.parse(st.out) as { pid: number }).pid, second);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('agent status polling does not reset the idle timer, while reads do', async () => {
  const h = await initHome();
  try {
    await setSecret(h, 'K', 'v');
    // Control: reads every 300 ms keep an agent with a 2 s idle limit alive past 3 s.
    const reader = await startAgent(h, ['--idle', '2s']);
    const t0 = Date.now();
    while (Date.now() - t0 < 3200) {
      assert.equal((await sesame(['get', 'K'], { env: h.env })).code, 0);
      await sleep(300);
    }
    assert.ok(alive(reader), 'reads count as activity');
    await stopAgent(h);
    await waitFor('the first agent to exit', () => !alive(reader));
    // Status every 300 ms must not: the agent stops once 2 s pass without a read.
    const pid = await startAgent(h, ['--idle', '2s']);
    const t1 = Date.now();
    let stoppedAfter = 0;
    while (Date.now() - t1 < 8000) {
      const st = await sesame(['agent', 'status'], { env: h.env });
      if (st.code === 3) {
        stoppedAfter = Date.now() - t1;
        break;
      }
      await sleep(300);
    }
    assert.ok(stoppedAfter > 0, 'the agent stopped for idleness although its status was polled');
    await waitFor('the idle agent to exit', () => !alive(pid));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a key that does not exist is reported before any key derivation, with "did you mean"', async () => {
  const h = await initHome();
  try {
    await setSecret(h, 'DATABASE_URL', 'postgres://x');
    // No passphrase source at all: an unlock attempt would fail LOCKED (exit 3); the name is checked first.
    const env = { ...h.env };
    delete env.SESAME_PASSPHRASE_FILE;
    const r = await sesame(['get', 'DATABSE_URL', '--no-agent'], { env });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /no key DATABSE_URL \(did you mean DATABASE_URL\?\) in project default/);
    assert.match(r.stderr, /hint: see `sesame list`/);
    const p = await sesame(['get', 'DATABASE_URL', '-p', 'defualt', '--no-agent'], { env });
    assert.equal(p.code, 4);
    assert.match(p.stderr, /project defualt does not exist \(did you mean default\?\)/);
    // The attacker's view: the check reads names only, so an existing key still needs the passphrase.
    const locked = await sesame(['get', 'DATABASE_URL', '--no-agent'], { env });
    assert.equal(locked.code, 3, locked.stderr);
    assert.equal(locked.out, '');
  } finally {
    h.cleanup();
  }
});

test('unknown commands, subcommands and options are refused with "did you mean"', async () => {
  const h = await initHome();
  try {
    const c = await sesame(['lsit'], { env: h.env });
    assert.equal(c.code, 2);
    assert.match(c.stderr, /unknown command "lsit" \(did you mean list\?\)/);
    const s = await sesame(['agent', 'stauts'], { env: h.env });
    assert.equal(s.code, 2);
    assert.match(s.stderr, /unknown subcommand agent "stauts" \(did you mean status/);
    const o = await sesame(['get', 'K', '--jsno'], { env: h.env });
    assert.equal(o.code, 2);
    assert.match(o.stderr, /unknown option --jsno \(did you mean --json\?\)/);
    assert.match(o.stderr, /hint: see `sesame get --help`/);
  } finally {
    h.cleanup();
  }
});

for (const viaAgent of [false, true]) {
  const how = viaAgent ? 'through the agent' : 'by direct unlock';
  test(`get -n prints the value without a newline, and get K1 K2 prints one per line (${how})`, async () => {
    const h = await initHome();
    try {
      await setSecret(h, 'A', 'alpha');
      await setSecret(h, 'B', 'beta');
      if (viaAgent) await startAgent(h);
      const n = await sesame(['get', '-n', 'A'], { env: h.env });
      assert.equal(n.code, 0, n.stderr);
      assert.equal(n.out, 'alpha');
      const two = await sesame(['get', 'B', 'A'], { env: h.env });
      assert.equal(two.code, 0, two.stderr);
      assert.equal(two.out, 'beta\nalpha\n');
      const plain = await sesame(['get', 'A'], { env: h.env });
      assert.equal(plain.out, 'alpha\n', 'the plain form is unchanged');
      const bad = await sesame(['get', '-n', 'A', 'B'], { env: h.env });
      assert.equal(bad.code, 2);
    } finally {
      if (viaAgent) await stopAgent(h);
      h.cleanup();
    }
  });

  test(`get of several keys refuses values holding a newline, naming each, unless --json (${how})`, async () => {
    const h = await initHome();
    try {
      await setSecret(h, 'ONE', 'line1\nline2');
      await setSecret(h, 'TWO', 'x\ny');
      await setSecret(h, 'OK', 'fine');
      if (viaAgent) await startAgent(h);
      const r = await sesame(['get', 'OK', 'ONE', 'TWO'], { env: h.env });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.out, '', 'nothing is printed when one value cannot be');
      assert.match(r.stderr, /the value of ONE, TWO holds a newline/);
      const j = await sesame(['get', 'OK', 'ONE', '--json'], { env: h.env });
      assert.equal(j.code, 0, j.stderr);
      const doc = JSON.parse(j.out) as { project: string; secrets: Array<{ key: string; value_base64: string; version: number; high_value: boolean; created_at: string }> };
      assert.equal(doc.project, 'default');
      assert.deepEqual(
        doc.secrets.map((s) => [s.key, Buffer.from(s.value_base64, 'base64').toString()]),
        [
          ['OK', 'fine'],
          ['ONE', 'line1\nline2'],
        ],
      );
    } finally {
      if (viaAgent) await stopAgent(h);
      h.cleanup();
    }
  });
}

test('get --json gives the value as base64 plus its metadata, exactly the bytes stored', async () => {
  const h = await initHome();
  try {
    const value = Buffer.from([0x00, 0xff, 0x0a, 0x22, 0x5c, 0x41]);
    await setSecret(h, 'BIN', value, ['--high-value']);
    const r = await sesame(['get', 'BIN', '--json'], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.out) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc).sort(), ['created_at', 'high_value', 'key', 'project', 'updated_at', 'value_base64', 'version']);
    assert.deepEqual(Buffer.from(doc.value_base64 as string, 'base64'), value);
    assert.equal(doc.high_value, true);
    assert.equal(doc.version, 1);
    assert.match(doc.created_at as string, /^\d{4}-\d\d-\d\dT/);
  } finally {
    h.cleanup();
  }
});

test('run -- a directory exits 126, and --json reports it on stdout as JSON', async () => {
  const h = await initHome();
  try {
    const dir = path.dirname(h.dir);
    assert.ok(fs.statSync(dir).isDirectory());
    const r = await sesame(['run', '--', dir], { env: h.env });
    assert.equal(r.code, 126, r.stderr);
    assert.match(r.stderr, /not executable/);
    const j = await sesame(['run', '--json', '--', dir], { env: h.env });
    assert.equal(j.code, 126);
    const e = JSON.parse(j.out) as Record<string, unknown>;
    assert.equal(e.error, 'not_executable');
    assert.equal(e.exit_code, 126);
    const nf = await sesame(['run', '--json', '--', 'no-such-command-xyz'], { env: h.env });
    assert.equal(nf.code, 127);
    assert.equal((JSON.parse(nf.out) as Record<string, unknown>).error, 'not_found');
  } finally {
    h.cleanup();
  }
});

test('env and run name every value the format cannot carry at once, and --exclude lets the user proceed without reading them', async () => {
  const h = await initHome();
  try {
    await setSecret(h, 'NUL_A', Buffer.from('a\0b'));
    await setSecret(h, 'NUL_B', Buffer.from('\0'));
    await setSecret(h, 'GOOD', 'fine');
    for (const args of [['env'], ['env', '--format', 'dotenv'], ['run', '--', 'true']]) {
      const r = await sesame(args, { env: h.env });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.out, '');
      assert.match(r.stderr, /cannot carry the values of NUL_A, NUL_B/);
      assert.match(r.stderr, /hint: .*leave them out with --exclude NUL_A,NUL_B/);
    }
    const mentions = async (): Promise<number> => (await sesame(['audit', 'show', '--json'], { env: h.env })).out.split('NUL_A').length;
    const before = await mentions();
    const e = await sesame(['env', '--exclude', 'NUL_A,NUL_B'], { env: h.env });
    assert.equal(e.code, 0, e.stderr);
    assert.equal(e.out, "export GOOD='fine'\n");
    const run = await sesame(['run', '--exclude', 'NUL_A', '--exclude', 'NUL_B', '--', 'sh', '-c', 'printf %s "$GOOD"'], { env: h.env });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.out, 'fine');
    // An excluded key is not read: no new audit record names it.
    assert.ok(before > 1, 'the refused attempts read (and recorded) NUL_A');
    assert.equal(await mentions(), before);
  } finally {
    h.cleanup();
  }
});

test('a wait on the vault lock says after a second which pid and command hold it', async () => {
  const h = await initHome();
  try {
    const lockFile = path.join(h.dir, 'vault.lock');
    // A holder that records itself as sesame does (pid, then the command words), then lets go after 2.5 s.
    const holder = spawn(
      'python3',
      [
        '-c',
        'import fcntl,os,sys,time; fd=os.open(sys.argv[1], os.O_RDWR|os.O_CREAT, 0o600); fcntl.flock(fd, fcntl.LOCK_EX); os.ftruncate(fd,0); os.write(fd, (str(os.getpid())+"\\nsesame import\\n").encode()); print("held", flush=True); time.sleep(2.5)',
        lockFile,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) =>
      holder.stdout.once('data', () => {
        resolve();
      }),
    );
    const r = await sesame(['set', 'K'], { env: { ...h.env, SESAME_LOCK_TIMEOUT_MS: '8000' }, input: 'v' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`waiting for pid ${holder.pid} \\(sesame import\\) to release the vault…`));
    assert.equal(r.stderr.split('waiting for').length, 2, 'said once');
    // A short wait says nothing.
    const quick = await sesame(['set', 'K2'], { env: h.env, input: 'v' });
    assert.doesNotMatch(quick.stderr, /waiting/);
  } finally {
    h.cleanup();
  }
});
