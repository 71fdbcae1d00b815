// Reads in the audit log, end to end: the CLI's direct reads and the agent's, its
// checkpoints, several writers on one chain, and what happens when the log cannot be written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, sesame, setSecret, PASSPHRASE, type TestHome } from '../helpers/cli.js';
import { logOf, startAgent, stopAgent, waitFor, alive } from '../helpers/agent.js';
import { auditRecords } from '../helpers/audit.js';

interface Rec {
  seq: number;
  event: string;
  outcome: string;
  reason?: string;
  via: string;
  project?: string;
  keys?: string[];
  peer?: { uid: number; pid: number | null; exe: string | null };
  request?: string;
  mac: string | null;
}

const VALUES = { ALPHA: 'alpha-value-never-in-a-log-3e1f', BETA: 'beta-value-never-in-a-log-77c0' };

const records = (h: TestHome): Promise<Rec[]> => auditRecords<Rec>(h);

/** Every file under `dir` (the home: vault, logs, sockets' neighbours), as bytes. */
function everyFile(dir: string): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...everyFile(p));
    else if (e.isFile()) out.push([p, fs.readFileSync(p)]);
  }
  return out;
}

function assertNoSecretIn(dir: string, secrets: readonly string[]): void {
  for (const [file, bytes] of everyFile(dir)) for (const s of secrets) assert.ok(!bytes.includes(Buffer.from(s)), `${file} holds ${JSON.stringify(s)}`);
}

async function homeWithKeys(prefix: string): Promise<TestHome> {
  const h = await initHome(prefix);
  await setSecret(h, 'ALPHA', VALUES.ALPHA);
  await setSecret(h, 'BETA', VALUES.BETA);
  return h;
}

/** get, env and run, each once, on the path `extra` selects. */
async function readAll(h: TestHome, extra: string[]): Promise<void> {
  const g = await sesame(['get', ...extra, 'ALPHA'], { env: h.env });
  assert.equal(g.code, 0, g.stderr);
  assert.equal(g.out.trim(), VALUES.ALPHA);
  const e = await sesame(['env', ...extra, '--only', 'ALPHA,BETA'], { env: h.env });
  assert.equal(e.code, 0, e.stderr);
  assert.ok(e.out.includes(VALUES.BETA));
  const r = await sesame(['run', ...extra, '--only', 'BETA', '--', 'sh', '-c', 'test -n "$BETA"'], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
}

const reads = (recs: Rec[]): Rec[] => recs.filter((r) => r.event === 'get' || r.event === 'getselected');

test('every get, env and run is recorded on the direct path and through the agent, with names and never values', async () => {
  const h = await homeWithKeys('sesame-audit-reads-');
  try {
    await readAll(h, ['--no-agent']);
    const direct = reads(await records(h));
    assert.deepEqual(
      direct.map((r) => [r.event, r.outcome, r.via, r.project, r.keys]),
      [
        ['get', 'ok', 'cli', 'default', ['ALPHA']],
        ['getselected', 'ok', 'cli', 'default', ['ALPHA', 'BETA']],
        ['getselected', 'ok', 'cli', 'default', ['BETA']],
      ],
    );
    assert.ok(
      direct.every((r) => r.mac !== null && r.peer?.pid && r.peer.exe?.startsWith('/')),
      'direct reads are keyed and name their process',
    );

    await startAgent(h);
    try {
      await readAll(h, []);
    } finally {
      await stopAgent(h);
    }
    const viaAgent = reads(await records(h)).slice(3);
    assert.deepEqual(
      viaAgent.map((r) => [r.event, r.outcome, r.via, r.project, r.keys]),
      [
        ['get', 'ok', 'agent', 'default', ['ALPHA']],
        ['getselected', 'ok', 'agent', 'default', ['ALPHA', 'BETA']],
        ['getselected', 'ok', 'agent', 'default', ['BETA']],
      ],
    );
    for (const r of viaAgent) {
      assert.ok(r.mac !== null, 'keyed');
      assert.equal(r.peer?.uid, process.getuid?.());
      assert.ok(r.peer?.pid && r.peer.pid !== process.pid, 'the peer is the CLI process, not the test');
      assert.ok(r.peer.exe?.startsWith('/'));
      assert.ok(r.request, 'the request id');
    }
    // A missing name asked of the agent is recorded as a denial with its reason, never its
    // would-be value. (On the direct path it is refused from the vault's names before any
    // unlock, so there is no key to write a keyed record with: nothing was read.)
    await startAgent(h);
    try {
      assert.equal((await sesame(['get', 'NOPE'], { env: h.env })).code, 4);
    } finally {
      await stopAgent(h);
    }
    const last = reads(await records(h)).at(-1)!;
    assert.deepEqual([last.event, last.outcome, last.reason], ['get', 'denied', 'not_found']);
    assertNoSecretIn(h.dir, [...Object.values(VALUES), PASSPHRASE]);
  } finally {
    h.cleanup();
  }
});

test('the agent writes a keyed checkpoint at start and stop with the reason (stop, signal, idle)', async () => {
  const h = await homeWithKeys('sesame-audit-ckpt-');
  try {
    await startAgent(h);
    await stopAgent(h);
    const pid = await startAgent(h);
    process.kill(pid, 'SIGTERM');
    await waitFor('the agent to exit', () => !alive(pid));
    const idle = await startAgent(h, ['--idle', '1s']);
    await waitFor('the idle agent to exit', () => !alive(idle), 8000);
    const ck = (await records(h)).filter((r) => r.event.startsWith('agent_'));
    assert.deepEqual(
      ck.map((r) => [r.event, r.outcome, r.reason ?? '', r.via]),
      [
        ['agent_start', 'ok', '', 'agent'],
        ['agent_stop', 'ok', 'stop', 'agent'],
        ['agent_start', 'ok', '', 'agent'],
        ['agent_stop', 'ok', 'signal:sigterm', 'agent'],
        ['agent_start', 'ok', '', 'agent'],
        ['agent_stop', 'ok', 'idle', 'agent'],
      ],
    );
    assert.ok(
      ck.every((r) => r.mac !== null && r.peer?.pid !== undefined),
      'checkpoints are keyed and name the agent',
    );
    const v = await sesame(['audit', 'verify'], { env: h.env });
    assert.equal(v.code, 0, v.stderr + v.out);
  } finally {
    h.cleanup();
  }
});

test('audit verify passes after agent reads mixed with CLI writes (one chain, several writers)', async () => {
  const h = await homeWithKeys('sesame-audit-mixed-');
  try {
    await startAgent(h);
    try {
      const jobs: Array<Promise<unknown>> = [];
      for (let i = 0; i < 8; i++) {
        jobs.push(
          sesame(['get', 'ALPHA'], { env: h.env }).then((r) => {
            assert.equal(r.code, 0, r.stderr);
          }),
        );
        jobs.push(
          sesame(['env', '--only', 'BETA'], { env: h.env }).then((r) => {
            assert.equal(r.code, 0, r.stderr);
          }),
        );
        if (i % 2 === 0) jobs.push(setSecret(h, `MIXED_${i}`, `mixed-value-${i}-never-logged`));
      }
      await Promise.all(jobs);
    } finally {
      await stopAgent(h);
    }
    const recs = await records(h);
    assert.deepEqual(
      recs.map((r) => r.seq),
      recs.map((_, i) => i + 1),
    );
    assert.equal(recs.filter((r) => r.via === 'agent' && (r.event === 'get' || r.event === 'getselected')).length, 16);
    assert.equal(recs.filter((r) => r.event === 'set').length, 2 + 4);
    const v = await sesame(['audit', 'verify'], { env: h.env });
    assert.equal(v.code, 0, v.stderr + v.out);
    assertNoSecretIn(h.dir, [...Object.values(VALUES), PASSPHRASE, ...[0, 2, 4, 6].map((i) => `mixed-value-${i}-never-logged`)]);
  } finally {
    h.cleanup();
  }
});

test('no record holds any value or passphrase used in the test (scan every file the test wrote)', async () => {
  const h = await homeWithKeys('sesame-audit-scan-');
  try {
    const more = ['gamma value with spaces 91', 'delta=with=equals-0c'];
    await setSecret(h, 'GAMMA', more[0]!);
    await setSecret(h, 'DELTA', more[1]!);
    await readAll(h, ['--no-agent']);
    await startAgent(h);
    try {
      await readAll(h, []);
      assert.equal((await sesame(['get', 'DELTA'], { env: h.env })).out.trim(), more[1]);
    } finally {
      await stopAgent(h);
    }
    // Everything under the test's base directory: the home (vault, audit log, agent log, locks) and HOME.
    const base = path.dirname(h.dir);
    const files = everyFile(base).filter(([f]) => f !== h.passFile);
    assert.ok(files.some(([f]) => f.endsWith('audit.jsonl')) && files.some(([f]) => f.endsWith('agent.log')));
    for (const [file, bytes] of files) for (const s of [...Object.values(VALUES), ...more, PASSPHRASE]) assert.ok(!bytes.includes(Buffer.from(s)), `${file} holds ${JSON.stringify(s)}`);
  } finally {
    h.cleanup();
  }
});

/** Makes the log unwritable for anyone, root included: `audit.jsonl` becomes a directory. */
function breakLog(h: TestHome): void {
  const log = path.join(h.dir, 'audit.jsonl');
  fs.rmSync(log, { force: true });
  fs.mkdirSync(log, { mode: 0o700 });
}

test("an owner's read with an unwritable log warns and still answers", async () => {
  const h = await homeWithKeys('sesame-audit-unwritable-');
  try {
    breakLog(h);
    const g = await sesame(['get', '--no-agent', 'ALPHA'], { env: h.env });
    assert.equal(g.code, 0, g.stderr);
    assert.equal(g.out.trim(), VALUES.ALPHA);
    assert.match(g.stderr, /warning: this get was NOT recorded in the audit log/);
    assert.ok(!g.stderr.includes(VALUES.ALPHA));

    await startAgent(h);
    try {
      const a = await sesame(['get', 'ALPHA'], { env: h.env });
      assert.equal(a.code, 0, a.stderr);
      assert.equal(a.out.trim(), VALUES.ALPHA);
    } finally {
      await stopAgent(h);
    }
    assert.match(logOf(h), /AUDIT: this get was NOT recorded in the audit log/);
    assert.match(logOf(h), /AUDIT: the agent_start checkpoint was NOT recorded/);
  } finally {
    h.cleanup();
  }
});
