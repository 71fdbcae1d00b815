/**
 * `sesame run` through exec (issue 10): on a profile socket that does not reveal values, run
 * uses the agent's exec automatically and behaves like a local run (terminal, Ctrl-C,
 * stdin, exit status); `run --mask` goes through exec when an agent runs and masks locally
 * (native spawn, same redactor) when none does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, ROOT, requireTool, runProcess, sesame, type TestHome } from '../helpers/cli.js';
import { startAgent, stopAgent, waitFor } from '../helpers/agent.js';
import { encodings, execHome, profileSock } from '../helpers/exec-frames.js';

const SECRET = 'Hq4-Vt8pLw2xZ6mC9sJ1-run-secret';
const BOX = `projects = ["default"]\nkeys = ["*"]\ncommands = ["/bin/sh"]\n`;
const DRIVER = path.join(ROOT, 'test', 'helpers', 'pty-drive.py');

function noLeak(s: string, where: string): void {
  for (const e of encodings(SECRET)) assert.ok(!s.includes(e), `${where}: ${e} leaked`);
}

async function home(prefix: string, agent = true): Promise<TestHome> {
  const h = await execHome(prefix, { API_TOKEN: SECRET }, { box: BOX });
  if (agent) await startAgent(h);
  return h;
}

test('run on a terminal through a non-revealing profile gives the child a terminal, masks it, and Ctrl-C reaches the child', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await home('sesame-run-pty-');
  try {
    const script = 'trap "echo got-int; exit 7" INT; [ -t 0 ] && [ -t 1 ] && echo tty-yes; printf "\\033[32m%s\\033[0m\\n" "$API_TOKEN"; echo ready; while :; do sleep 0.05; done';
    const steps = [{ expect: 'ready' }, { send: '\x03' }, { expect: 'got-int' }];
    const r = await runProcess('python3', [DRIVER, JSON.stringify(steps), process.execPath, BIN, 'run', '--', 'sh', '-c', script], {
      env: { ...h.env, SESAME_AGENT_SOCK: profileSock(h, 'box') },
    });
    const d = JSON.parse(r.out) as { output: string; status: number };
    assert.match(d.output, /tty-yes/);
    assert.ok(d.output.includes('\x1b[32m<sesame:API_TOKEN>\x1b[0m'), JSON.stringify(d.output));
    assert.match(d.output, /got-int/);
    noLeak(d.output, 'terminal');
    assert.equal(d.status, 7, d.output);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('run through a non-revealing profile forwards stdin and keeps the exit status', async () => {
  const h = await home('sesame-run-stdin-');
  try {
    const env = { ...h.env, SESAME_AGENT_SOCK: profileSock(h, 'box') };
    const r = await sesame(['run', '--', 'sh', '-c', 'tr a-z A-Z; echo "$API_TOKEN" >&2; exit 5'], { env, input: 'hello from stdin\n' });
    assert.equal(r.out, 'HELLO FROM STDIN\n');
    assert.equal(r.stderr, '<sesame:API_TOKEN>\n');
    assert.equal(r.code, 5);
    // stdin from a file (here /dev/null) is an fs stream, not a socket: still forwarded, and ended.
    const f = await runProcess('sh', ['-c', `exec "${process.execPath}" "${BIN}" run -- sh -c 'cat; echo done' < /dev/null`], { env });
    assert.equal(f.out, 'done\n', f.stderr);
    assert.equal(f.code, 0);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('SIGINT and SIGTERM sent to run reach the child through exec', async () => {
  const h = await home('sesame-run-sig-');
  try {
    for (const [sig, code] of [
      ['SIGINT', 7],
      ['SIGTERM', 9],
    ] as const) {
      const child = spawn(process.execPath, [BIN, 'run', '--', 'sh', '-c', 'trap "echo got-int; exit 7" INT; trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 0.05; done'], {
        env: { ...h.env, SESAME_AGENT_SOCK: profileSock(h, 'box') },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      await waitFor('ready', () => out.includes('ready'), 10_000);
      child.kill(sig);
      const status = await new Promise<number | null>((r) => {
        child.on('close', (c) => {
          r(c);
        });
      });
      assert.equal(status, code, out);
      assert.match(out, sig === 'SIGINT' ? /got-int/ : /got-term/);
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('run --mask without an agent masks the output locally and keeps the exit status and signals', async () => {
  const h = await home('sesame-run-mask-local-', false);
  try {
    const r = await sesame(['run', '--mask', '--', 'sh', '-c', 'echo "$API_TOKEN"; printf %s "$API_TOKEN" | base64; echo "$API_TOKEN" >&2; exit 42'], { env: h.env });
    assert.equal(r.code, 42, r.stderr);
    assert.match(r.out, /^<sesame:API_TOKEN>$/m);
    noLeak(r.out, 'stdout');
    noLeak(r.stderr, 'stderr');
    const k = await sesame(['run', '--mask', '--', 'sh', '-c', 'kill -TERM $$'], { env: h.env });
    assert.equal(k.signal, 'SIGTERM');
    assert.ok(!fs.existsSync(path.join(h.dir, 'agent.sock')), 'no agent was involved');
  } finally {
    h.cleanup();
  }
});

test('run --mask with an agent running goes through exec', async () => {
  const h = await home('sesame-run-mask-agent-');
  try {
    const r = await sesame(['run', '--mask', '--', 'sh', '-c', 'echo "$API_TOKEN"'], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, '<sesame:API_TOKEN>\n');
    await new Promise((res) => setTimeout(res, 50));
    const audit = fs.readFileSync(path.join(h.dir, 'audit.jsonl'), 'utf8');
    assert.match(audit, /"event":"exec","outcome":"ok","via":"agent"/);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

/** The `keys` of the exec records in the audit log, in order (names only). */
function execKeys(h: TestHome): string[][] {
  return fs
    .readFileSync(path.join(h.dir, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { event: string; outcome: string; keys?: string[] })
    .filter((r) => r.event === 'exec' && r.outcome === 'ok')
    .map((r) => r.keys ?? []);
}

const SHOW = 'echo "api=${API_TOKEN:-unset}"; echo "db=${DB_PASS:-unset}"';

test('run --exclude through a non-revealing profile leaves the key out of the exec: neither injected nor decrypted (its record does not name it)', async () => {
  const h = await execHome('sesame-run-excl-', { API_TOKEN: SECRET, DB_PASS: 'db-pass-value-9f3k2Q' }, { box: BOX });
  await startAgent(h);
  try {
    const env = { ...h.env, SESAME_AGENT_SOCK: profileSock(h, 'box') };
    // control: without --exclude both are injected (and masked), and the record names both
    const all = await sesame(['run', '--', 'sh', '-c', SHOW], { env });
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.out, 'api=<sesame:API_TOKEN>\ndb=<sesame:DB_PASS>\n');
    const ex = await sesame(['run', '--exclude', 'DB_PASS', '--', 'sh', '-c', SHOW], { env });
    assert.equal(ex.code, 0, ex.stderr);
    assert.equal(ex.out, 'api=<sesame:API_TOKEN>\ndb=unset\n');
    // --only less --exclude
    const only = await sesame(['run', '--only', 'API_TOKEN,DB_PASS', '--exclude', 'DB_PASS', '--', 'sh', '-c', SHOW], { env });
    assert.equal(only.out, 'api=<sesame:API_TOKEN>\ndb=unset\n', only.stderr);
    // --prefix with --exclude: nothing left
    const pre = await sesame(['run', '--prefix', 'DB_', '--exclude', 'DB_PASS', '--', 'sh', '-c', SHOW], { env });
    assert.equal(pre.out, 'api=unset\ndb=unset\n', pre.stderr);
    await new Promise((res) => setTimeout(res, 50));
    assert.deepEqual(execKeys(h), [['API_TOKEN', 'DB_PASS'], ['API_TOKEN'], ['API_TOKEN'], []]);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('run --strict through a non-revealing profile refuses a missing --only key (exit 4) before anything runs; without --strict it warns', async () => {
  const h = await execHome('sesame-run-strict-', { API_TOKEN: SECRET }, { box: BOX });
  await startAgent(h);
  try {
    const env = { ...h.env, SESAME_AGENT_SOCK: profileSock(h, 'box') };
    const mark = path.join(path.dirname(h.dir), 'ran');
    const strict = await sesame(['run', '--strict', '--only', 'API_TOKEN,NOPE', '--', 'sh', '-c', `touch ${mark}`], { env });
    assert.equal(strict.code, 4, strict.stderr);
    assert.match(strict.stderr, /missing in project default: NOPE/);
    assert.ok(!fs.existsSync(mark), 'the command never ran');
    assert.deepEqual(execKeys(h), [], 'no exec was asked for');
    const loose = await sesame(['run', '--only', 'API_TOKEN,NOPE', '--', 'sh', '-c', `touch ${mark}; echo "$API_TOKEN"`], { env });
    assert.equal(loose.code, 0, loose.stderr);
    assert.match(loose.stderr, /missing in project default: NOPE/);
    assert.equal(loose.out, '<sesame:API_TOKEN>\n');
    assert.ok(fs.existsSync(mark));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('run --mask --exclude K with the owner agent leaves K out of the exec: neither injected nor decrypted; --strict refuses a missing key before it runs', async () => {
  const h = await execHome('sesame-run-mask-excl-', { API_TOKEN: SECRET, DB_PASS: 'db-pass-value-9f3k2Q' });
  await startAgent(h);
  try {
    const r = await sesame(['run', '--mask', '--exclude', 'DB_PASS', '--', 'sh', '-c', SHOW], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, 'api=<sesame:API_TOKEN>\ndb=unset\n');
    const both = await sesame(['run', '--mask', '--', 'sh', '-c', SHOW], { env: h.env });
    assert.equal(both.out, 'api=<sesame:API_TOKEN>\ndb=<sesame:DB_PASS>\n', 'control: without --exclude both are there');
    await new Promise((res) => setTimeout(res, 50));
    assert.deepEqual(execKeys(h), [['API_TOKEN'], ['API_TOKEN', 'DB_PASS']]);
    const audit = fs.readFileSync(path.join(h.dir, 'audit.jsonl'), 'utf8');
    assert.ok(!/"event":"get(selected)?","outcome":"ok"[^\n]*DB_PASS/.test(audit), 'DB_PASS was never read either');
    const strict = await sesame(['run', '--mask', '--strict', '--only', 'API_TOKEN,NOPE', '--', 'true'], { env: h.env });
    assert.equal(strict.code, 4, strict.stderr);
    assert.match(strict.stderr, /missing in project default: NOPE/);
    assert.equal(execKeys(h).length, 2, 'no exec was asked for');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('run --mask --exclude with a token that may not list takes the names from the vault file; with neither it refuses (exit 8) rather than inject the excluded key', async () => {
  const h = await execHome('sesame-run-excl-tok-', { API_TOKEN: SECRET, DB_PASS: 'db-pass-value-9f3k2Q' });
  await startAgent(h);
  const empty = fs.mkdtempSync(path.join(path.dirname(h.dir), 'nohome-'));
  try {
    const tk = await sesame(['token', 'new', '--ops', 'exec'], { env: h.env });
    assert.equal(tk.code, 0, tk.stderr);
    const env = { ...h.env, SESAME_AGENT_TOKEN: tk.out.trim() };
    // lengths, not values: what is injected, whatever the output masking does
    const LENS = 'echo "api=${#API_TOKEN} db=${#DB_PASS}"';
    const r = await sesame(['run', '--mask', '--exclude', 'DB_PASS', '--', 'sh', '-c', LENS], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, `api=${SECRET.length} db=0\n`);
    // no readable vault here and no `list`: the excluded key cannot be told apart, so nothing runs
    const blind = { ...env, SESAME_HOME: empty, SESAME_AGENT_SOCK: path.join(h.dir, 'agent.sock') };
    const mark = path.join(empty, 'ran');
    const no = await sesame(['run', '--mask', '--exclude', 'DB_PASS', '--', 'sh', '-c', `touch ${mark}`], { env: blind });
    assert.equal(no.code, 8, no.stderr);
    assert.match(no.stderr, /cannot honour --exclude through the agent's exec/);
    const strict = await sesame(['run', '--mask', '--strict', '--only', 'API_TOKEN', '--', 'sh', '-c', `touch ${mark}`], { env: blind });
    assert.equal(strict.code, 8, strict.stderr);
    assert.ok(!fs.existsSync(mark), 'the command never ran');
    // control: the same blind caller without --exclude runs
    const ok = await sesame(['run', '--mask', '--', 'sh', '-c', LENS], { env: blind });
    assert.equal(ok.out, `api=${SECRET.length} db=20\n`, ok.stderr);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
