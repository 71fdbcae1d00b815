/**
 * Capability tokens against a real agent started by the built CLI (issue 9): a token sent as
 * `token` narrows what the owner socket gives; out of scope looks exactly like nonexistent on
 * the wire; an expired, revoked or unknown token is denied alike (exit 8) while the agent log
 * tells them apart by 8-hex id; revocation is seen at the next request; a scoped token cannot
 * stop the agent; `--require-token` holds the owner to a token too; and the raw token is found
 * in no file the run wrote.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BIN, initHome, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { alive, ask, logOf, sleep, sockOf, startAgent, stopAgent, waitFor, type Reply } from '../helpers/agent.js';
import { filesUnder } from '../helpers/files.js';

/** A home with projects default (A_KEY, B_KEY) and work (API_X, DB_URL). */
async function delegationHome(prefix: string): Promise<TestHome> {
  const h = await initHome(prefix);
  await setSecret(h, 'A_KEY', 'value-a');
  await setSecret(h, 'B_KEY', 'value-b');
  const p = await sesame(['projects', 'create', 'work'], { env: h.env });
  assert.equal(p.code, 0, p.stderr);
  await setSecret(h, 'API_X', 'value-api', ['--project', 'work']);
  await setSecret(h, 'DB_URL', 'value-db', ['--project', 'work']);
  return h;
}

/** `token new …`: the token (stdout without its newline) and its 8-hex id. */
async function newToken(h: TestHome, args: string[], env: NodeJS.ProcessEnv = h.env): Promise<{ token: string; id8: string }> {
  const r = await sesame(['token', 'new', ...args], { env });
  assert.equal(r.code, 0, r.stderr);
  const id8 = /token ([0-9a-f]{8}) made/.exec(r.stderr)?.[1];
  assert.ok(id8, r.stderr);
  return { token: r.out.trimEnd(), id8 };
}

/** The environment of a client that holds only a token: no passphrase to fall back on. */
function tokenEnv(h: TestHome, token: string | undefined): NodeJS.ProcessEnv {
  const { SESAME_PASSPHRASE_FILE: _pf, ...rest } = h.env;
  return { ...rest, ...(token === undefined ? {} : { SESAME_AGENT_TOKEN: token }) };
}

let nextId = 1;
/** One v2 request on the owner socket, with `token`. */
const v2 = (h: TestHome, token: string | undefined, req: Record<string, unknown>): Promise<Reply> => ask(sockOf(h), { v: 2, id: nextId++, ...req, ...(token === undefined ? {} : { token }) });

/** The key names of a getselected frame's `secrets`. */
const keysOf = (r: Reply): string[] => (r.secrets as Array<{ key: string }>).map((x) => x.key);

/** The error object of a frame with every name in `names` replaced by a placeholder (and the id dropped). */
function errorShape(r: Reply, names: Record<string, string>): string {
  assert.equal(r.frame, 'error', JSON.stringify(r));
  let s = JSON.stringify(r.error);
  for (const [name, placeholder] of Object.entries(names)) s = s.split(name).join(placeholder);
  return s;
}

test('a scoped token is denied outside its scope on get, getselected, list and status — and the denial looks exactly like a missing key/project', async () => {
  const h = await delegationHome('sesame-deleg-scope-');
  try {
    const { token } = await newToken(h, ['--project', 'work', '--keys', 'API_*']);
    await startAgent(h);

    // In scope: served.
    const ok = await v2(h, token, { op: 'get', project: 'work', key: 'API_X' });
    assert.equal(ok.frame, 'ok', JSON.stringify(ok));
    assert.equal(Buffer.from(String(ok.value), 'base64').toString(), 'value-api');

    // get: an existing project outside the scope = a project that does not exist.
    const outProject = await v2(h, token, { op: 'get', project: 'default', key: 'A_KEY' });
    const noProject = await v2(h, token, { op: 'get', project: 'nosuch', key: 'A_KEY' });
    assert.equal(errorShape(outProject, { default: 'P' }), errorShape(noProject, { nosuch: 'P' }));
    assert.equal((outProject.error as { code: string }).code, 'NOT_FOUND');
    // …and the same as the owner (no token) asking for a project that does not exist.
    assert.equal(errorShape(outProject, { default: 'P' }), errorShape(await v2(h, undefined, { op: 'get', project: 'nosuch', key: 'A_KEY' }), { nosuch: 'P' }));

    // get: an existing key outside the key globs = a key that does not exist.
    const outKey = await v2(h, token, { op: 'get', project: 'work', key: 'DB_URL' });
    const noKey = await v2(h, token, { op: 'get', project: 'work', key: 'API_NOPE' });
    assert.equal(errorShape(outKey, { DB_URL: 'K' }), errorShape(noKey, { API_NOPE: 'K' }));
    assert.equal((outKey.error as { code: string }).code, 'NOT_FOUND');

    // getselected: out-of-scope project as missing; out-of-scope keys among `missing`, never values.
    const selOut = await v2(h, token, { op: 'getselected', project: 'default' });
    const selNo = await v2(h, token, { op: 'getselected', project: 'nosuch' });
    assert.equal(errorShape(selOut, { default: 'P' }), errorShape(selNo, { nosuch: 'P' }));
    const sel = await v2(h, token, { op: 'getselected', project: 'work', only: ['DB_URL', 'API_X', 'API_NOPE'] });
    assert.equal(sel.frame, 'ok', JSON.stringify(sel));
    assert.deepEqual(keysOf(sel), ['API_X']);
    assert.deepEqual(sel.missing, ['DB_URL', 'API_NOPE'], 'an out-of-scope key is reported exactly as a missing one');
    const all = await v2(h, token, { op: 'getselected', project: 'work' });
    assert.deepEqual(keysOf(all), ['API_X']);

    // list: only what the scope admits; a project outside it = one that does not exist.
    const listed = await v2(h, token, { op: 'list' });
    assert.deepEqual(
      (listed.projects as Array<{ name: string; keys: Array<{ key: string }> }>).map((p) => [p.name, p.keys.map((k) => k.key)]),
      [['work', ['API_X']]],
    );
    const listOut = await v2(h, token, { op: 'list', project: 'default' });
    const listNo = await v2(h, token, { op: 'list', project: 'nosuch' });
    assert.equal(errorShape(listOut, { default: 'P' }), errorShape(listNo, { nosuch: 'P' }));

    // status: names no project or key; a scoped token sees no token ids and no other listener.
    const st = await v2(h, token, { op: 'status' });
    assert.equal(st.frame, 'ok');
    const s = st.status as Record<string, unknown>;
    assert.equal(s.tokens_last_used, undefined, 'a scoped token does not see which tokens were used');
    assert.deepEqual(
      (s.listeners as Array<{ kind: string }>).map((l) => l.kind),
      ['owner'],
    );
    assert.ok(!JSON.stringify(s).includes('default'), 'status names no project');

    // The CLI with the token: out of scope is the same exit and message as missing.
    const cliOut = await sesame(['get', 'DB_URL', '--project', 'work'], { env: tokenEnv(h, token) });
    const cliNo = await sesame(['get', 'API_NOPE', '--project', 'work'], { env: tokenEnv(h, token) });
    assert.equal(cliOut.code, cliNo.code);
    assert.equal(cliOut.stderr.split('DB_URL').join('K'), cliNo.stderr.split('API_NOPE').join('K'));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('an expired, revoked or unknown token is denied (exit 8)', async () => {
  const h = await delegationHome('sesame-deleg-deny-');
  try {
    const expired = await newToken(h, ['--project', 'work', '--ttl', '1s']);
    const revoked = await newToken(h, ['--project', 'work']);
    const good = await newToken(h, ['--project', 'work']);
    await startAgent(h);
    const r0 = await sesame(['token', 'revoke', revoked.id8], { env: h.env });
    assert.equal(r0.code, 0, r0.stderr);
    await sleep(1100);
    const unknown = `ses_${'A'.repeat(43)}`;
    const ok = await sesame(['get', 'API_X', '--project', 'work'], { env: tokenEnv(h, good.token) });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.out, 'value-api\n');
    const messages = new Set<string>();
    for (const [what, t] of [
      ['expired', expired.token],
      ['revoked', revoked.token],
      ['unknown', unknown],
    ] as const) {
      const r = await sesame(['get', 'API_X', '--project', 'work'], { env: tokenEnv(h, t) });
      assert.equal(r.code, 8, `${what}: ${r.stderr}`);
      assert.equal(r.out, '', `${what}: nothing on stdout`);
      messages.add(r.stderr);
      const j = await v2(h, t, { op: 'get', project: 'work', key: 'API_X' });
      assert.deepEqual((j.error as { detail?: unknown }).detail, { reason: 'token_unknown' }, `${what}: the wire says token_unknown`);
    }
    assert.equal(messages.size, 1, 'expired, revoked and unknown read the same to the client');
    // The agent log tells them apart, by id only.
    const log = logOf(h);
    assert.match(log, new RegExp(`token_expired \\(token ${expired.id8}\\)`));
    assert.match(log, new RegExp(`token_revoked \\(token ${revoked.id8}\\)`));
    assert.match(log, /denied a request: token_unknown from/);
    for (const t of [expired.token, revoked.token, good.token, unknown]) assert.ok(!log.includes(t), 'no token in the agent log');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test("revoke takes effect on the next request (after the CLI's SIGHUP)", async () => {
  const h = await delegationHome('sesame-deleg-revoke-');
  try {
    const t = await newToken(h, ['--project', 'work', '--keys', 'API_*']);
    await startAgent(h);
    const before = await sesame(['get', 'API_X', '--project', 'work'], { env: tokenEnv(h, t.token) });
    assert.equal(before.code, 0, before.stderr);
    const rv = await sesame(['token', 'revoke', t.id8], { env: h.env });
    assert.equal(rv.code, 0, rv.stderr);
    assert.match(rv.stderr, /told to reload/);
    const after = await sesame(['get', 'API_X', '--project', 'work'], { env: tokenEnv(h, t.token) });
    assert.equal(after.code, 8, after.stderr);
    // A token made while the agent runs works at once, too.
    const fresh = await newToken(h, ['--project', 'work']);
    const now = await sesame(['get', 'API_X', '--project', 'work'], { env: tokenEnv(h, fresh.token) });
    assert.equal(now.code, 0, now.stderr);
    // token list reports last use from the agent's memory (never written to the home).
    const list = await sesame(['token', 'list', '--json'], { env: h.env });
    const rows = (JSON.parse(list.out) as { tokens: Array<{ id8: string; last_used: string | null }> }).tokens;
    assert.ok(rows.find((r) => r.id8 === fresh.id8)?.last_used, 'the fresh token has a last use');
    assert.ok(!fs.readFileSync(path.join(h.dir, 'tokens'), 'utf8').includes('last_used'), 'last use is not written to the token file');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a scoped token cannot stop the agent', async () => {
  const h = await delegationHome('sesame-deleg-stop-');
  try {
    const scoped = await newToken(h, ['--project', 'work']);
    const opsOnly = await newToken(h, ['--ops', 'get,list,status']);
    const full = await newToken(h, []);
    const pid = await startAgent(h);
    for (const t of [scoped.token, opsOnly.token]) {
      const r = await sesame(['agent', 'stop'], { env: tokenEnv(h, t) });
      assert.equal(r.code, 8, r.stderr);
      const wire = await v2(h, t, { op: 'stop' });
      assert.deepEqual((wire.error as { detail?: unknown }).detail, { reason: 'owner_only' });
    }
    assert.ok(alive(pid), 'the agent still runs');
    // An unrestricted owner token may.
    const r = await sesame(['agent', 'stop'], { env: tokenEnv(h, full.token) });
    assert.equal(r.code, 0, r.stderr);
    await waitFor('the agent to exit', () => !alive(pid));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test("--require-token refuses the owner's CLI without SESAME_AGENT_TOKEN", async () => {
  const h = await delegationHome('sesame-deleg-require-');
  try {
    const owner = await newToken(h, ['--name', 'owner']);
    const pid = await startAgent(h, ['--require-token']);
    const without = await sesame(['get', 'A_KEY'], { env: tokenEnv(h, undefined) });
    assert.equal(without.code, 8, without.stderr);
    assert.match(without.stderr, /requires a token/);
    assert.equal(without.out, '');
    const wire = await v2(h, undefined, { op: 'get', project: 'default', key: 'A_KEY' });
    assert.deepEqual((wire.error as { detail?: unknown }).detail, { reason: 'token_required' });
    const v1 = await ask(sockOf(h), { v: 1, op: 'get', project: 'default', key: 'A_KEY' });
    assert.equal(v1.ok, false, 'a v1 request (which cannot carry a token) is refused too');

    const st = await sesame(['agent', 'status', '--json'], { env: tokenEnv(h, undefined) });
    assert.equal(st.code, 8, st.stderr);
    assert.equal((JSON.parse(st.out) as { require_token?: boolean }).require_token, true, 'agent status says a token is required');

    const withIt = await sesame(['get', 'A_KEY'], { env: tokenEnv(h, owner.token) });
    assert.equal(withIt.code, 0, withIt.stderr);
    assert.equal(withIt.out, 'value-a\n');
    const st2 = await sesame(['agent', 'status', '--json'], { env: tokenEnv(h, owner.token) });
    const j = JSON.parse(st2.out) as { require_token?: boolean; tokens_last_used?: Record<string, string> };
    assert.equal(j.require_token, true);
    assert.ok(j.tokens_last_used?.[owner.id8], "the owner sees its token's last use");
    const human = await sesame(['agent', 'status'], { env: tokenEnv(h, owner.token) });
    assert.match(human.out, /token: +required on the owner socket/);
    assert.ok(alive(pid));
  } finally {
    // `agent stop` needs the token now: end it by the pid it wrote (SIGTERM, its clean shutdown).
    try {
      const pid = Number(fs.readFileSync(path.join(h.dir, 'agent.pid'), 'utf8').trim());
      if (pid > 0 && alive(pid)) process.kill(pid, 'SIGTERM');
      await waitFor('the agent to exit', () => !alive(pid));
    } catch {
      /* gone */
    }
    h.cleanup();
  }
});

test('the raw token appears in no file the test wrote (home, logs, audit)', async () => {
  const started = Date.now();
  const h = await delegationHome('sesame-deleg-scan-');
  const tokens: string[] = [];
  try {
    for (const args of [['--project', 'work'], ['--ttl', '1s'], []]) tokens.push((await newToken(h, args)).token);
    await startAgent(h);
    for (const t of tokens) {
      await sesame(['get', 'API_X', '--project', 'work'], { env: tokenEnv(h, t) });
      await sesame(['list'], { env: tokenEnv(h, t) });
      await sesame(['agent', 'status', '--json'], { env: tokenEnv(h, t) });
    }
    await sesame(['token', 'list'], { env: h.env });
    await sesame(['token', 'revoke', '--help'], { env: h.env });
    await stopAgent(h);
    const base = path.dirname(h.dir);
    const recent = filesUnder(os.tmpdir()).filter((f) => {
      try {
        const st = fs.statSync(f);
        return st.mtimeMs >= started - 1000 && st.size < 16 * 1024 * 1024;
      } catch {
        return false;
      }
    });
    const files = [...new Set([...filesUnder(base), ...recent])];
    assert.ok(
      files.some((f) => f.endsWith('agent.log')),
      'the agent log is among the files scanned',
    );
    assert.ok(
      files.some((f) => f.endsWith('tokens')),
      'the token file is among the files scanned',
    );
    for (const f of files) {
      let data: Buffer;
      try {
        data = fs.readFileSync(f);
      } catch {
        continue;
      }
      for (const t of tokens) assert.equal(data.indexOf(t), -1, `the raw token is in ${f}`);
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a bad token file or profile refuses start naming file:line; a bad reload keeps the old set and logs why', async () => {
  const h = await delegationHome('sesame-deleg-badfile-');
  try {
    const t = await newToken(h, ['--project', 'work']);
    const file = path.join(h.dir, 'tokens');
    const good = fs.readFileSync(file, 'utf8');

    fs.writeFileSync(file, `${good}not json\n`);
    const bad = await sesame(['agent', 'start', '--background'], { env: h.env });
    assert.notEqual(bad.code, 0);
    assert.ok(bad.stderr.includes(`${file}:2`), `names the file and line: ${bad.stderr}`);
    assert.ok(!fs.existsSync(sockOf(h)), 'no socket left behind');

    fs.writeFileSync(file, good);
    fs.chmodSync(file, 0o644);
    const loose = await sesame(['agent', 'start', '--background'], { env: h.env });
    assert.notEqual(loose.code, 0);
    assert.match(loose.stderr, /tokens/);
    fs.chmodSync(file, 0o600);

    const prof = path.join(h.dir, 'profiles');
    fs.mkdirSync(prof, { mode: 0o700 });
    fs.writeFileSync(path.join(prof, 'ci.toml'), 'projects = ["work"]\nkeys = ["API_*"]\ncolour = "blue"\n', { mode: 0o600 });
    const badProfile = await sesame(['agent', 'start', '--background'], { env: h.env });
    assert.notEqual(badProfile.code, 0);
    assert.ok(badProfile.stderr.includes(`${path.join(prof, 'ci.toml')}:3`), `names the profile and line: ${badProfile.stderr}`);
    fs.rmSync(prof, { recursive: true });

    const pid = await startAgent(h);
    fs.writeFileSync(file, `${good}{"v":1}\n`);
    process.kill(pid, 'SIGHUP');
    await waitFor('the failed reload to be logged', () => /reload failed: .*tokens:2: .*old policy kept/.test(logOf(h)));
    const still = await sesame(['get', 'API_X', '--project', 'work'], { env: tokenEnv(h, t.token) });
    assert.equal(still.code, 0, `the old set stays in force: ${still.stderr}`);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('run never passes SESAME_AGENT_TOKEN to its child, and the token is never on argv', async () => {
  const h = await delegationHome('sesame-deleg-run-');
  try {
    const t = await newToken(h, ['--project', 'work']);
    await startAgent(h);
    const r = await sesame(['run', '--project', 'work', '--', 'sh', '-c', 'env; cat /proc/$PPID/cmdline | tr "\\0" " "'], { env: tokenEnv(h, t.token) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, /^API_X=value-api$/m, 'the child got the scoped keys');
    assert.doesNotMatch(r.out, /SESAME_AGENT_TOKEN/, 'but not the token variable');
    assert.ok(!r.out.includes(t.token), "nor the token, in its environment or its parent's argv");
    assert.ok(!r.stderr.includes(t.token));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('agent start --session: the shell that evals it reads; a process without its token is denied (exit 8); sesame lock there ends it; the token is stored nowhere', async () => {
  const h = await delegationHome('sesame-deleg-session-');
  try {
    const script = [
      'eval "$(sesame agent start --session)" || exit 90',
      'SESAME_PASSPHRASE_FILE= sesame get A_KEY || exit 91',
      '(unset SESAME_AGENT_TOKEN; SESAME_PASSPHRASE_FILE= sesame get A_KEY >/dev/null 2>&1; echo "other=$?")',
      'sesame agent status --json | tr -d " \\n"; echo',
      'printf "%s" "$SESAME_AGENT_TOKEN" > "$TOKEN_OUT"',
      'sesame lock >/dev/null 2>&1 || exit 92',
      'sesame agent status >/dev/null 2>&1; echo "after=$?"',
    ].join('\n');
    const bin = path.join(path.dirname(h.dir), 'bin');
    fs.mkdirSync(bin, { mode: 0o700 });
    fs.writeFileSync(path.join(bin, 'sesame'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`, { mode: 0o700 });
    const tokenOut = path.join(path.dirname(h.dir), 'session-token');
    const r = await runProcess('bash', ['-c', script], { env: { ...h.env, PATH: `${bin}:${process.env.PATH ?? ''}`, TOKEN_OUT: tokenOut } });
    assert.equal(r.code, 0, `${r.out}\n${r.stderr}`);
    const lines = r.out.split('\n');
    assert.equal(lines[0], 'value-a', 'the shell that evaluated it reads');
    assert.equal(lines[1], 'other=8', 'a process without the token is denied');
    const st = JSON.parse(lines[2] ?? '') as { session?: boolean; require_token?: boolean };
    assert.deepEqual([st.session, st.require_token], [true, true], 'agent status says it is session-bound');
    assert.equal(lines[3], 'after=3', 'sesame lock in that shell ended the agent');
    const token = fs.readFileSync(tokenOut, 'utf8');
    assert.match(token, /^ses_[A-Za-z0-9_-]{43}$/);
    fs.rmSync(tokenOut);
    for (const f of filesUnder(path.dirname(h.dir))) assert.equal(fs.readFileSync(f).indexOf(token), -1, `the session token is in ${f}`);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
