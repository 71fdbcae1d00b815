// Delegated reads (a capability token) in the audit log, end to end: recorded as
// token:ID8 with the true reason of a denial (the wire says "does not exist"), and refused
// when they cannot be recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { ask, logOf, startAgent, stopAgent } from '../helpers/agent.js';
import { auditRecords } from '../helpers/audit.js';

interface Rec {
  event: string;
  outcome: string;
  reason?: string;
  via: string;
  keys?: string[];
  mac: string | null;
}

const ALPHA = 'alpha-delegated-never-logged-4b1d';
const BETA = 'beta-delegated-never-logged-90ee';

async function tokenHome(prefix: string): Promise<{ h: TestHome; token: string; id8: string; env: NodeJS.ProcessEnv }> {
  const h = await initHome(prefix);
  await setSecret(h, 'ALPHA', ALPHA);
  await setSecret(h, 'BETA', BETA);
  const r = await sesame(['token', 'new', '--project', 'default', '--keys', 'ALPHA*'], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  const id8 = /token ([0-9a-f]{8}) made/.exec(r.stderr)?.[1];
  assert.ok(id8, r.stderr);
  const { SESAME_PASSPHRASE_FILE: _pf, ...rest } = h.env; // a client that holds only the token
  return { h, token: r.out.trimEnd(), id8, env: { ...rest, SESAME_AGENT_TOKEN: r.out.trimEnd() } };
}

test('a token read is recorded as token:ID8, and an out-of-scope one with its true reason (scope) while the wire says it does not exist', async () => {
  const { h, token, id8, env } = await tokenHome('sesame-audit-token-');
  try {
    await startAgent(h);
    try {
      const ok = await sesame(['get', 'ALPHA'], { env });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.out.trim(), ALPHA);
      const out = await sesame(['get', 'BETA'], { env });
      const none = await sesame(['get', 'ALPHA_NOPE'], { env });
      assert.equal(out.code, none.code);
      assert.equal(out.stderr.split('BETA').join('K'), none.stderr.split('ALPHA_NOPE').join('K'));
    } finally {
      await stopAgent(h);
    }
    const recs = (await auditRecords<Rec>(h, ['--via', `token:${id8}`])).filter((r) => r.event === 'get');
    assert.deepEqual(
      recs.map((r) => [r.outcome, r.reason ?? '', r.keys]),
      [
        ['ok', '', ['ALPHA']],
        ['denied', 'scope', ['BETA']],
        ['denied', 'not_found', []],
      ],
    );
    assert.ok(recs.every((r) => r.mac !== null));
    const raw = fs.readFileSync(path.join(h.dir, 'audit.jsonl'), 'utf8');
    for (const s of [ALPHA, BETA, token]) assert.ok(!raw.includes(s), 'the log holds a value or the token');
  } finally {
    h.cleanup();
  }
});

test('a delegated read with an unwritable log is denied with reason audit_unavailable (token and profile), and an owner read warns in the agent log', async () => {
  const { h, env, token } = await tokenHome('sesame-audit-token-deny-');
  try {
    fs.mkdirSync(path.join(h.dir, 'profiles'), { mode: 0o700 });
    fs.writeFileSync(path.join(h.dir, 'profiles', 'box.toml'), 'projects = ["default"]\nkeys = ["ALPHA"]\nreveal = true\n', { mode: 0o600 });
    await startAgent(h);
    try {
      const log = path.join(h.dir, 'audit.jsonl');
      fs.rmSync(log, { force: true });
      fs.mkdirSync(log, { mode: 0o700 }); // unwritable for anyone, root included
      const r = await sesame(['get', 'ALPHA'], { env });
      assert.notEqual(r.code, 0, 'the value was served unrecorded');
      assert.ok(!r.out.includes(ALPHA));
      assert.match(r.stderr, /cannot be recorded in the audit log/);
      // On the wire: DENIED with reason audit_unavailable, through a token and through a profile socket; no value.
      const frames = [
        await ask(path.join(h.dir, 'agent.sock'), { v: 2, id: 1, op: 'get', project: 'default', key: 'ALPHA', token }),
        await ask(path.join(h.dir, 'sockets', 'box.sock'), { v: 2, id: 2, op: 'get', project: 'default', key: 'ALPHA' }),
      ];
      for (const f of frames) {
        assert.equal(f.frame, 'error', JSON.stringify(f));
        const e = f.error as { code: string; detail?: { reason?: string } };
        assert.deepEqual([e.code, e.detail?.reason], ['DENIED', 'audit_unavailable'], JSON.stringify(f));
        assert.ok(!JSON.stringify(f).includes(Buffer.from(ALPHA).toString('base64')));
      }
      // The owner, on the same agent, is still served (with a note in the agent log).
      const owner = await sesame(['get', 'ALPHA'], { env: h.env });
      assert.equal(owner.code, 0, owner.stderr);
      assert.equal(owner.out.trim(), ALPHA);
      await new Promise((r) => setTimeout(r, 100)); // the owner read's group commit
      assert.match(logOf(h), /AUDIT: this get was NOT recorded in the audit log/);
    } finally {
      await stopAgent(h);
    }
  } finally {
    h.cleanup();
  }
});

test('a request the agent refuses before any op (an unknown token) is recorded as denied with its reason, never the token', async () => {
  const { h, env } = await tokenHome('sesame-audit-token-refused-');
  try {
    await startAgent(h);
    const unknown = `ses_${'Q'.repeat(43)}`;
    try {
      const r = await sesame(['get', 'ALPHA'], { env: { ...env, SESAME_AGENT_TOKEN: unknown } });
      assert.notEqual(r.code, 0);
      assert.ok(!r.out.includes(ALPHA));
    } finally {
      await stopAgent(h);
    }
    const recs = await auditRecords<Rec>(h, ['--event', 'get']);
    const last = recs.at(-1);
    assert.ok(last, 'no get record');
    assert.deepEqual([last.outcome, last.reason, last.keys], ['denied', 'token_unknown', ['ALPHA']]);
    assert.ok(!fs.readFileSync(path.join(h.dir, 'audit.jsonl'), 'utf8').includes(unknown));
  } finally {
    h.cleanup();
  }
});
