/**
 * Cells (issue 11) against a real agent started with `--cells`: a cell registers on its
 * first resolve with the digest of its token, later resolves need the same token, an id no
 * rule of cells.toml admits is denied, a revoked cell stays revoked across an agent restart
 * (until forgotten), a cell's high-value read waits for the owner, and every step is in the
 * audit log and the agent log without a token or a value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { ask, exchange, logOf, sockOf, startAgent, stopAgent, waitFor, type Reply } from '../helpers/agent.js';
import { pendingList } from '../helpers/approval.js';

const CELL_TOKEN = 'cell-token-Zx81-secret';
const OTHER_TOKEN = 'cell-token-other-Qq55';

async function cellHome(prefix: string, toml: string): Promise<TestHome> {
  const h = await initHome(prefix);
  await setSecret(h, 'API_KEY', 'api-value-cell');
  await setSecret(h, 'DB_PASS', 'db-value-cell');
  await setSecret(h, 'HV_CELL', 'hv-cell-value', ['--high-value']);
  fs.writeFileSync(path.join(h.dir, 'cells.toml'), toml, { mode: 0o600 });
  return h;
}

const RULES = '[[cell]]\nid = "build-*"\nprojects = ["default"]\nkeys = ["API_*", "HV_*"]\n';
const cellSock = (h: TestHome): string => path.join(h.dir, 'cells.sock');
let n = 1;
const resolve = (h: TestHome, cell: string, key: string, token?: string): Promise<Reply> =>
  ask(cellSock(h), { v: 2, id: n++, op: 'resolve', cell_id: cell, key, ...(token === undefined ? {} : { token }) });
const valueOf = (r: Reply): string => Buffer.from(String(r.value), 'base64').toString();
const reasonOf = (r: Reply): unknown => (r.error as { detail?: { reason?: unknown } } | undefined)?.detail?.reason;

test('a cell registers on its first resolve; later resolves need the same token; a wrong token is denied', async () => {
  const h = await cellHome('sesame-cell-reg-', RULES);
  try {
    await startAgent(h, ['--cells']);
    await waitFor('cells.sock', () => fs.existsSync(cellSock(h)));
    const first = await resolve(h, 'build-1', 'API_KEY', CELL_TOKEN);
    assert.equal(first.frame, 'ok', JSON.stringify(first));
    assert.equal(valueOf(first), 'api-value-cell');
    const again = await resolve(h, 'build-1', 'API_KEY', CELL_TOKEN);
    assert.equal(valueOf(again), 'api-value-cell');
    const wrong = await resolve(h, 'build-1', 'API_KEY', OTHER_TOKEN);
    assert.equal(reasonOf(wrong), 'cell_token');
    const none = await resolve(h, 'build-1', 'API_KEY');
    assert.equal(reasonOf(none), 'cell_token');
    // Out of the rule's keys: exactly like a key that does not exist.
    const out = await resolve(h, 'build-1', 'DB_PASS', CELL_TOKEN);
    const missing = await resolve(h, 'build-1', 'NO_SUCH', CELL_TOKEN);
    assert.equal((out.error as { code: string }).code, 'NOT_FOUND');
    assert.equal(JSON.stringify(out.error).split('DB_PASS').join('K'), JSON.stringify(missing.error).split('NO_SUCH').join('K'));
    // Not a get: a cell reads only through resolve.
    const get = await ask(cellSock(h), { v: 2, id: 99, op: 'get', project: 'default', key: 'API_KEY', token: CELL_TOKEN });
    assert.equal(get.frame, 'error');

    const list = await sesame(['cell', 'list', '--json'], { env: h.env });
    assert.equal(list.code, 0, list.stderr);
    const cells = (JSON.parse(list.out) as { cells: Array<{ id: string; registered_at: string; last_seen: string; resolves: number; revoked_at: string | null }> }).cells;
    assert.equal(cells.length, 1);
    assert.equal(cells[0]!.id, 'build-1');
    assert.ok(cells[0]!.resolves >= 2 && cells[0]!.registered_at && cells[0]!.last_seen && cells[0]!.revoked_at === null);
    const text = await sesame(['cell', 'list'], { env: h.env });
    assert.match(text.out, /^build-1 +registered \S+ +last seen \S+ +resolves \d+$/m);

    // The registry holds a digest, never the token; audit and agent log hold neither token nor value.
    const reg = fs.readFileSync(path.join(h.dir, 'cells.json'), 'utf8');
    assert.equal(fs.statSync(path.join(h.dir, 'cells.json')).mode & 0o777, 0o600);
    assert.ok(!reg.includes(CELL_TOKEN));
    await waitFor('the audit records', () => fs.readFileSync(path.join(h.dir, 'audit.jsonl'), 'utf8').includes('cell_resolve'));
    const audit = fs.readFileSync(path.join(h.dir, 'audit.jsonl'), 'utf8');
    assert.ok(audit.includes('"event":"cell_register"') && audit.includes('"via":"cell:build-1"'));
    for (const text of [audit, logOf(h)]) {
      assert.ok(!text.includes(CELL_TOKEN) && !text.includes(OTHER_TOKEN) && !text.includes('api-value-cell'));
    }
    assert.match(logOf(h), /cell register: cell build-1 ok/);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a cell id that no rule of cells.toml admits is denied (and with no cells.toml, every cell is)', async () => {
  const h = await cellHome('sesame-cell-unknown-', RULES);
  try {
    await startAgent(h, ['--cells']);
    const r = await resolve(h, 'deploy-1', 'API_KEY', CELL_TOKEN);
    assert.equal(reasonOf(r), 'cell_unknown');
    assert.ok(!fs.existsSync(path.join(h.dir, 'cells.json')) || !fs.readFileSync(path.join(h.dir, 'cells.json'), 'utf8').includes('deploy-1'), 'an unknown cell is not registered');
    await stopAgent(h);
    fs.rmSync(path.join(h.dir, 'cells.toml'));
    await startAgent(h, ['--cells']);
    assert.equal(reasonOf(await resolve(h, 'build-1', 'API_KEY', CELL_TOKEN)), 'cell_unknown');
    // Without --cells there is no cell socket at all.
    await stopAgent(h);
    await startAgent(h);
    assert.ok(!fs.existsSync(cellSock(h)));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a revoked cell stays revoked across an agent restart, until the owner forgets it', async () => {
  const h = await cellHome('sesame-cell-revoke-', RULES);
  try {
    await startAgent(h, ['--cells']);
    assert.equal((await resolve(h, 'build-7', 'API_KEY', CELL_TOKEN)).frame, 'ok');
    const rv = await sesame(['cell', 'revoke', 'build-7'], { env: h.env });
    assert.equal(rv.code, 0, rv.stderr);
    assert.equal(reasonOf(await resolve(h, 'build-7', 'API_KEY', CELL_TOKEN)), 'cell_revoked');
    await stopAgent(h);
    await startAgent(h, ['--cells']);
    assert.equal(reasonOf(await resolve(h, 'build-7', 'API_KEY', CELL_TOKEN)), 'cell_revoked', 'still revoked after a restart');
    assert.match((await sesame(['cell', 'list'], { env: h.env })).out, /build-7 .*REVOKED/);
    // The cell ops are the owner's: refused with a token and on the cell socket.
    const tok = (await sesame(['token', 'new'], { env: h.env })).out.trim();
    const withTok = await sesame(['cell', 'forget', 'build-7'], { env: { ...h.env, SESAME_AGENT_TOKEN: tok } });
    assert.equal(withTok.code, 8);
    assert.equal(reasonOf(await ask(cellSock(h), { v: 2, id: 1, op: 'cell_forget', cell_id: 'build-7' })), 'owner_only');
    assert.equal(reasonOf(await ask(sockOf(h), { v: 2, id: 1, op: 'resolve', cell_id: 'build-7', key: 'API_KEY' })), 'scope', 'resolve is served on the cell socket only');
    // forget: the record goes; the cell may register again (with a new token).
    const fg = await sesame(['cell', 'forget', 'build-7'], { env: h.env });
    assert.equal(fg.code, 0, fg.stderr);
    assert.equal((await resolve(h, 'build-7', 'API_KEY', OTHER_TOKEN)).frame, 'ok');
    // Only a revoked cell can be forgotten.
    assert.equal((await sesame(['cell', 'forget', 'build-7'], { env: h.env })).code, 1);
    const audit = fs.readFileSync(path.join(h.dir, 'audit.jsonl'), 'utf8');
    assert.ok(audit.includes('"event":"cell_revoke"') && audit.includes('"event":"cell_forget"'));
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test("a cell's read of a high-value key waits for the owner's approval like any delegated read", async () => {
  const h = await cellHome('sesame-cell-hv-', RULES);
  fs.writeFileSync(path.join(h.dir, 'config.toml'), 'approval_timeout = "20s"\n', { mode: 0o600 });
  try {
    await startAgent(h, ['--cells']);
    const waiting = exchange(cellSock(h), [`${JSON.stringify({ v: 2, id: 1, op: 'resolve', cell_id: 'build-2', key: 'HV_CELL', token: CELL_TOKEN })}\n`], 2, { timeoutMs: 15_000 });
    await waitFor('the pending request', async () => (await pendingList(h)).length === 1);
    const [p] = await pendingList(h);
    assert.equal(p!.caller.cell, 'build-2');
    assert.equal(p!.caller.listener.kind, 'cell');
    await sesame(['approve', p!.id, '--deny'], { env: h.env });
    const [pending, final] = await waiting;
    assert.equal(pending?.frame, 'pending');
    assert.equal(reasonOf(final!), 'approval_denied');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
