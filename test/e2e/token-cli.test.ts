/**
 * `sesame token new | list | revoke` through the built CLI, in an isolated home: the token is
 * printed once on stdout and nothing else; the list never shows it; and after all of it the
 * raw token is found in no file the run wrote — only in this test's own memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initHome, sesame } from '../helpers/cli.js';
import { alive, logOf, startAgent, stopAgent, waitFor } from '../helpers/agent.js';
import { filesUnder } from '../helpers/files.js';

const TOKEN_LINE = /^ses_[A-Za-z0-9_-]{43}\n$/;

/** Files written since `sinceMs` under the temp directory (the CLI's and this test's), and everything under `base`. */
function writtenFiles(base: string, sinceMs: number): string[] {
  const recent = filesUnder(os.tmpdir()).filter((f) => {
    try {
      const st = fs.statSync(f);
      return st.mtimeMs >= sinceMs - 1000 && st.size < 16 * 1024 * 1024;
    } catch {
      return false;
    }
  });
  return [...new Set([...filesUnder(base), ...recent])];
}

test('token new prints only the token; list never shows it; revoke takes it out; the raw token is in no file', async () => {
  const started = Date.now();
  const h = await initHome('sesame-token-cli-');
  const base = path.dirname(h.dir);
  const tokens: Buffer[] = [];
  try {
    const made = await sesame(['token', 'new', '--project', 'default', '--project', 'work', '--keys', 'API_*', '--ops', 'get,list', '--ttl', '1h', '--name', 'ci-bot'], { env: h.env });
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout.toString('latin1'), TOKEN_LINE, 'stdout is the token and one newline, nothing else');
    const token = made.stdout.subarray(0, made.stdout.length - 1);
    tokens.push(token);
    assert.ok(!made.stderr.includes(token.toString('latin1')), 'the token is not on stderr');
    const id8 = /token ([0-9a-f]{8}) made/.exec(made.stderr)?.[1];
    assert.ok(id8, made.stderr);

    const asJson = await sesame(['token', 'new', '--ops', 'list', '--json'], { env: h.env });
    assert.equal(asJson.code, 0, asJson.stderr);
    const j = JSON.parse(asJson.stdout.toString('utf8')) as { token: string; id8: string; scope: unknown };
    assert.match(`${j.token}\n`, TOKEN_LINE);
    assert.deepEqual(j.scope, { ops: ['list'] });
    assert.equal(asJson.stderr, '', '--json: nothing but the object');
    tokens.push(Buffer.from(j.token, 'latin1'));

    const list = await sesame(['token', 'list'], { env: h.env });
    const listJson = await sesame(['token', 'list', '--json'], { env: h.env });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.out, new RegExp(`${id8}\\s+ci-bot\\s+active`));
    assert.match(list.out, /projects=default,work keys=API_\* ops=get,getselected,list/);
    const rows = (JSON.parse(listJson.out) as { tokens: { id8: string; state: string; expires_at: string | null }[] }).tokens;
    assert.deepEqual(
      rows.map((r) => r.id8),
      [id8, j.id8],
    );
    assert.ok(rows[0]!.expires_at !== null && rows[1]!.expires_at === null);

    const revoked = await sesame(['token', 'revoke', id8], { env: h.env });
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stderr, new RegExp(`revoked token ${id8}`));
    const after = await sesame(['token', 'list', '--json'], { env: h.env });
    assert.equal((JSON.parse(after.out) as { tokens: { state: string }[] }).tokens[0]!.state, 'revoked');
    const unknown = await sesame(['token', 'revoke', '00000000'], { env: h.env });
    assert.equal(unknown.code, 4, 'an unknown id is not found');
    const badId = await sesame(['token', 'revoke', 'zz'], { env: h.env });
    assert.equal(badId.code, 2, 'a malformed id is a usage error');

    for (const r of [list, listJson, revoked, after, unknown, badId]) {
      for (const t of tokens) {
        assert.equal(r.stdout.indexOf(t), -1, 'never on stdout of another command');
        assert.ok(!r.stderr.includes(t.toString('latin1')), 'never on stderr');
      }
    }
    assert.equal(fs.statSync(path.join(h.dir, 'tokens')).mode & 0o777, 0o600);
    const files = writtenFiles(base, started);
    assert.ok(files.includes(path.join(h.dir, 'tokens')), 'the scan sees the token file');
    for (const f of files) {
      let data: Buffer;
      try {
        data = fs.readFileSync(f);
      } catch {
        continue; // gone meanwhile, or another user's
      }
      for (const t of tokens) {
        assert.equal(data.indexOf(t), -1, `${f} holds a raw token`);
        assert.equal(data.indexOf(t.subarray(4)), -1, `${f} holds a token's body`);
      }
    }
  } finally {
    h.cleanup();
  }
});

test('token new refuses a bad scope and writes nothing', async () => {
  const h = await initHome('sesame-token-cli-');
  try {
    for (const args of [
      ['--keys', 'A-B'],
      ['--ops', 'get,stop'],
      ['--project', '../x'],
      ['--ttl', '0'],
      ['--ttl', 'soon'],
    ]) {
      const r = await sesame(['token', 'new', ...args], { env: h.env });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout.length, 0);
    }
    const named = await sesame(['token', 'new', '--name', 'has space'], { env: h.env });
    assert.equal(named.code, 1);
    assert.equal(named.stdout.length, 0);
    assert.equal(fs.existsSync(path.join(h.dir, 'tokens')), false);
  } finally {
    h.cleanup();
  }
});

test('a loose-permission token file is refused naming the file', async () => {
  const h = await initHome('sesame-token-cli-');
  try {
    assert.equal((await sesame(['token', 'new'], { env: h.env })).code, 0);
    const file = path.join(h.dir, 'tokens');
    fs.chmodSync(file, 0o644);
    for (const args of [
      ['token', 'list'],
      ['token', 'new'],
    ]) {
      const r = await sesame(args, { env: h.env });
      assert.equal(r.code, 1, r.stderr);
      assert.ok(r.stderr.includes(file), r.stderr);
      assert.match(r.stderr, /chmod 600/);
    }
  } finally {
    h.cleanup();
  }
});

test('token new and revoke tell a running agent to reload (SIGHUP), and it keeps running', async () => {
  const h = await initHome('sesame-token-cli-');
  try {
    const pid = await startAgent(h);
    const made = await sesame(['token', 'new', '--ops', 'list'], { env: h.env });
    assert.equal(made.code, 0, made.stderr);
    assert.ok(made.stderr.includes(`the running agent (pid ${pid}) was told to reload (SIGHUP)`), made.stderr);
    await waitFor('the reload to be logged', () => /policy reloaded/.test(logOf(h)));
    const id8 = /token ([0-9a-f]{8}) made/.exec(made.stderr)![1]!;
    const revoked = await sesame(['token', 'revoke', id8], { env: h.env });
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.ok(revoked.stderr.includes(`the running agent (pid ${pid}) was told to reload`), revoked.stderr);
    await waitFor('the second reload to be logged', () => (logOf(h).match(/policy reloaded/g) ?? []).length >= 2);
    assert.ok(alive(pid), 'SIGHUP did not end the agent');
    const token = made.stdout.subarray(0, made.stdout.length - 1);
    assert.ok(!logOf(h).includes(token.toString('latin1')), 'the token is not in the agent log');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
