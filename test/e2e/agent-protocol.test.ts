/**
 * The agent under hostile or heavy input, through a real socket: it answers every bad
 * request with an error, keeps serving, never writes, and stays correct under concurrency.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, sesame, setSecret } from '../helpers/cli.js';
import { ask, exchange, sockOf, startAgent, stopAgent, type Reply } from '../helpers/agent.js';

const reason = (r: Reply | undefined): unknown => (r?.error as { detail?: { reason?: string } } | undefined)?.detail?.reason;

test('oversize, malformed and wrong-version requests are answered with errors, and the agent still serves', async () => {
  const h = await initHome();
  await setSecret(h, 'API', 'still-here');
  try {
    await startAgent(h);
    const bad = await exchange(sockOf(h), ['{"v":1,"op":\n', '{"v":99,"op":"status"}\n', '{"v":1,"op":"status"}\n'], 3);
    assert.deepEqual(bad.map(reason), ['malformed', 'version', undefined]);
    assert.equal(bad[2]!.ok, true, 'the same connection still works after the errors');
    const huge = await exchange(sockOf(h), [Buffer.alloc(200 * 1024, 0x61), '{"v":1,"op":"status"}\n'], 5);
    assert.equal(huge.length, 1, 'one error, then the connection is closed');
    assert.equal(reason(huge[0]), 'oversize');
    const r = await ask(sockOf(h), { v: 1, op: 'get', project: 'default', key: 'API' });
    assert.equal(Buffer.from(r.value as string, 'base64').toString(), 'still-here');
    const cli = await sesame(['get', 'API'], { env: { ...h.env, SESAME_PASSPHRASE_FILE: '' } });
    assert.equal(cli.out, 'still-here\n');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('32 concurrent clients all get correct values', async () => {
  const h = await initHome();
  const N = 32;
  const values = new Map<string, string>();
  for (let i = 0; i < 4; i++) values.set(`K${i}`, `value-${i}-${'é'.repeat(i)}-${'x'.repeat(i * 100)}`);
  for (const [k, v] of values) await setSecret(h, k, v);
  try {
    await startAgent(h);
    const clients = Array.from({ length: N }, (_, c) => {
      const keys = Array.from({ length: 25 }, (_, i) => `K${(c + i) % 4}`);
      return exchange(sockOf(h), [keys.map((k, i) => `${JSON.stringify({ v: 1, id: i, op: 'get', project: 'default', key: k })}\n`).join('')], keys.length, { timeoutMs: 15_000 }).then((replies) => ({
        keys,
        replies,
      }));
    });
    const cliRuns = Array.from({ length: 4 }, (_, i) => sesame(['get', `K${i}`], { env: { ...h.env, SESAME_PASSPHRASE_FILE: '' } }));
    for (const { keys, replies } of await Promise.all(clients)) {
      assert.equal(replies.length, keys.length);
      replies.forEach((r, i) => {
        assert.equal(r.id, i);
        assert.equal(Buffer.from(r.value as string, 'base64').toString('utf8'), values.get(keys[i]!));
      });
    }
    (await Promise.all(cliRuns)).forEach((r, i) => {
      assert.equal(r.out, `${values.get(`K${i}`)}\n`);
    });
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('write ops are unknown and leave the vault byte-identical', async () => {
  const h = await initHome();
  await setSecret(h, 'API', 'original');
  const vault = path.join(h.dir, 'vault.json');
  try {
    await startAgent(h);
    const before = fs.readFileSync(vault);
    const st = fs.statSync(vault);
    const writes = [
      { op: 'set', project: 'default', key: 'API', value: Buffer.from('pwned').toString('base64') },
      { op: 'rm', project: 'default', key: 'API' },
      { op: 'init', force: true },
      { op: 'passphrase', action: 'change' },
      { op: 'import', project: 'default' },
      { op: 'projects', action: 'delete', name: 'default' },
      { op: 'getall', project: 'default' },
      { op: 'exportkey' },
    ];
    const replies = await exchange(sockOf(h), [writes.map((w) => `${JSON.stringify({ v: 1, ...w })}\n`).join('')], writes.length);
    assert.equal(replies.length, writes.length);
    for (const r of replies) assert.equal(reason(r), 'unknown_op');
    assert.ok(fs.readFileSync(vault).equals(before), 'vault bytes unchanged');
    assert.equal(fs.statSync(vault).mtimeMs, st.mtimeMs);
    assert.equal(fs.statSync(vault).ino, st.ino);
    const r = await ask(sockOf(h), { v: 1, op: 'get', project: 'default', key: 'API' });
    assert.equal(Buffer.from(r.value as string, 'base64').toString(), 'original');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
