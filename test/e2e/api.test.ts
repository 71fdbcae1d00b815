/**
 * The Node API (src/api, docs/api.md), driven as a program uses it: a separate Node process
 * importing the built module (dist/api.mjs) against a real agent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, setSecret, type TestHome } from '../helpers/cli.js';
import { program } from '../helpers/api.js';
import { startAgent, stopAgent } from '../helpers/agent.js';

async function withAgent(values: Record<string, string>, fn: (h: TestHome) => Promise<void>): Promise<void> {
  const h = await initHome();
  for (const [k, v] of Object.entries(values)) await setSecret(h, k, v);
  try {
    await startAgent(h);
    await fn(h);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
}

test('the API reads a value into a Buffer with neither koffi nor libsodium loaded; getFd loads koffi and only then', async () => {
  await withAgent({ API_KEY: 'value-through-the-api' }, async (h) => {
    const r = await program(
      h,
      `const c = await api.connect();
       const v = await c.get('API_KEY');
       const got = v.toString(); v.fill(0);
       const sel = await c.getSelected({ only: ['API_KEY', 'NOPE'] });
       const list = await c.list();
       const st = await c.status();
       const before = { koffi: maps().includes('koffi'), sodium: maps().includes('sodium'), cache: Object.keys(require.cache).filter((k) => /koffi|sodium/.test(k)) };
       const h = await c.getFd('API_KEY');
       const fdPath = '/proc/self/fd/' + h.fd;
       const b = h.read(); const viaFd = b.toString(); b.fill(0);
       const closed = !require('node:fs').existsSync(fdPath);
       const after = { koffi: maps().includes('koffi'), sodium: maps().includes('sodium') };
       c.close();
       process.stdout.write(JSON.stringify({ got, sel: [...sel.secrets.keys()], missing: sel.missing, projects: list.map((p) => p.name), running: st.running, before, viaFd, kind: h.kind, closed, after }));`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out.got, 'value-through-the-api');
    assert.deepEqual(r.out.sel, ['API_KEY']);
    assert.deepEqual(r.out.missing, ['NOPE']);
    assert.deepEqual(r.out.projects, ['default']);
    assert.equal(r.out.running, true);
    assert.deepEqual(r.out.before, { koffi: false, sodium: false, cache: [] });
    assert.equal(r.out.viaFd, 'value-through-the-api');
    assert.ok(r.out.kind === 'secret' || r.out.kind === 'sealed');
    assert.equal(r.out.closed, true, 'read() closes the descriptor');
    assert.deepEqual(r.out.after, { koffi: true, sodium: false }, 'the control: the maps scan sees koffi once getFd ran');
  });
});

test('API errors carry the CLI code, exit status and reason: NOT_FOUND 4, a bad token DENIED 8 token_unknown, no agent UNAVAILABLE 1', async () => {
  await withAgent({ A: 'a' }, async (h) => {
    const body = `const out = {};
      const c = await api.connect();
      try { await c.get('NOPE'); } catch (e) { out.missing = [e.name, e.code, e.exitCode, e instanceof api.SesameApiError]; }
      c.close();
      const bad = await api.connect({ token: 'ses_not-a-real-token' });
      try { await bad.get('A'); } catch (e) { out.token = [e.code, e.exitCode, e.reason]; }
      bad.close();
      try { await api.connect({ socket: '/nonexistent/agent.sock' }); } catch (e) { out.none = [e.code, e.exitCode]; }
      process.stdout.write(JSON.stringify(out));`;
    const r = await program(h, body);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.out.missing, ['SesameApiError', 'NOT_FOUND', 4, true]);
    assert.deepEqual(r.out.token, ['DENIED', 8, 'token_unknown']);
    assert.deepEqual(r.out.none, ['UNAVAILABLE', 1]);
  });
});

test('the API refuses a socket whose directory another user could swap (path check, no native call)', async () => {
  await withAgent({ A: 'a' }, async (h) => {
    // The attacker's layout: the agent's socket reached through a world-writable, non-sticky directory.
    const open = fs.mkdtempSync(path.join(h.dir, '..', 'open-'));
    fs.chmodSync(open, 0o777);
    const inner = path.join(open, 'real');
    fs.mkdirSync(inner, { mode: 0o700 });
    fs.linkSync(path.join(h.dir, 'agent.sock'), path.join(inner, 'agent.sock'));
    const r = await program(
      h,
      `try { await api.connect({ socket: ${JSON.stringify(path.join(inner, 'agent.sock'))} }); process.stdout.write('{"connected":true}'); } catch (e) { process.stdout.write(JSON.stringify({ code: e.code, message: e.message })); }`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out.code, 'INSECURE');
    assert.match(String(r.out.message), /writable by other users/);
  });
});

test('API exec streams masked output and the exit (exec wire contract)', async () => {
  await withAgent({ API_KEY: 'masked-value-123' }, async (h) => {
    const st = await program(h, `const c = await api.connect(); const s = await c.status(); c.close(); process.stdout.write(JSON.stringify(s));`);
    const ops = (st.out.ops as string[] | undefined) ?? [];
    assert.ok(ops.includes('getfd') && ops.includes('exec'), 'status lists the served ops');
    const r = await program(
      h,
      `const c = await api.connect();
       const run = c.exec(['printenv', 'API_KEY'], { only: ['API_KEY'] });
       const chunks = []; run.stdout.on('data', (d) => chunks.push(d));
       const x = await run.exit; c.close();
       process.stdout.write(JSON.stringify({ out: Buffer.concat(chunks).toString(), code: x.code, masked: x.masked }));`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out.out, '<sesame:API_KEY>\n');
    assert.equal(r.out.code, 0);
    assert.deepEqual(r.out.masked, { API_KEY: 1 });
  });
});
