/**
 * Protocol version 2 against a real agent started by the built CLI, over the vector vault
 * (test/vectors/vault-v1.json): v1 answers unchanged beside v2 frames, and the client's v2
 * API (list, streaming several requests on one connection).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ROOT, makeHome, type TestHome } from '../helpers/cli.js';
import { logOf, sockOf, startAgent, stopAgent } from '../helpers/agent.js';
import { connectAgent } from '../../src/core/agent/client.js';

function vectorHome(): TestHome {
  const h = makeHome('sesame-v2-');
  fs.mkdirSync(h.dir, { mode: 0o700 });
  fs.copyFileSync(path.join(ROOT, 'test/vectors/vault-v1.json'), path.join(h.dir, 'vault.json'));
  fs.chmodSync(path.join(h.dir, 'vault.json'), 0o600);
  fs.writeFileSync(h.passFile, 'vector passphrase: sesame v1\n', { mode: 0o600 });
  return h;
}

/** Writes `text` and collects raw reply lines until `want` arrived (or the agent closed). */
async function rawLines(sock: string, text: string, want: number): Promise<string[]> {
  const c = net.createConnection({ path: sock });
  await new Promise((r) => c.once('connect', r));
  let buf = '';
  const lines: string[] = [];
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 5000);
    c.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      if (lines.length >= want) {
        clearTimeout(t);
        resolve();
      }
    });
    c.on('close', () => {
      clearTimeout(t);
      resolve();
    });
    c.write(text);
  });
  c.destroy();
  return lines;
}

const V1 = [
  '{"v":1,"id":1,"op":"get","project":"default","key":"DATABASE_URL"}',
  '{"v":1,"id":2,"op":"getselected","project":"default","only":["TRICKY","GONE"]}',
  '{"v":1,"id":3,"op":"get","project":"default","key":"NOPE"}',
  '{"v":1,"id":4,"op":"list"}',
  '{"v":1,"id":5,"op":"get","project":"default","key":"1x"}',
  '{"v":7,"id":6,"op":"status"}',
  'not json',
];

test('v1 requests keep their exact v1 answers on a connection that also speaks v2', async () => {
  const h = vectorHome();
  try {
    await startAgent(h);
    const alone = await rawLines(sockOf(h), V1.map((l) => `${l}\n`).join(''), V1.length);
    assert.equal(alone.length, V1.length);
    // The same v1 lines with v2 requests (valid and not) between them, in one write.
    const v2 = ['{"v":2,"id":1,"op":"get","project":"work","key":"API_TOKEN"}', '{"v":2,"id":"x","op":"list"}', '{"v":2,"op":"status"}', '{"v":2,"id":9,"op":"frob"}'];
    const mixed = V1.flatMap((l, i) => [l, v2[i % v2.length]!]);
    const got = await rawLines(sockOf(h), mixed.map((l) => `${l}\n`).join(''), mixed.length);
    assert.equal(got.length, mixed.length);
    const v1Lines = got.filter((l) => !(JSON.parse(l) as Record<string, unknown>).frame);
    assert.deepEqual(v1Lines, alone, 'byte for byte the answers of a v1-only connection, in order');
    assert.ok(
      got.every((l, i) => (i % 2 === 0) === !('frame' in (JSON.parse(l) as object))),
      'v1 lines are barriers: the answers alternate exactly as the requests',
    );
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('the client lists names and metadata through the agent, never values, and streams several requests on one connection', async () => {
  const h = vectorHome();
  try {
    await startAgent(h);
    const c = await connectAgent(sockOf(h), {});
    assert.ok(c);
    try {
      const [list, one, sel, st] = await Promise.all([c.list(), c.get('work', 'API_TOKEN'), c.getSelected('default', { prefix: 'DATA' }), c.status()]);
      assert.deepEqual(
        list.map((p) => [p.name, p.keys.map((k) => k.key)]),
        [
          ['default', ['DATABASE_URL', 'HIGH', 'TRICKY']],
          ['work', ['API_TOKEN']],
        ],
      );
      assert.equal(list[0]!.keys[1]!.high_value, true);
      assert.doesNotMatch(JSON.stringify(list), /postgres|cG9zdGdyZXM/, 'no value in list');
      assert.equal(one.toString(), 'w');
      assert.deepEqual(
        sel.secrets.map(([k]) => k),
        ['DATABASE_URL'],
      );
      assert.equal(st.protocol, 2);
      assert.deepEqual(st.protocols, [1, 2]);
      assert.deepEqual(await c.list('work', 'ZZ'), [{ name: 'work', keys: [] }]);
      await assert.rejects(c.list('ghost'), /project ghost does not exist/);
      assert.equal((await c.get('default', 'DATABASE_URL')).toString(), 'postgres://u:p@db/x', 'the connection stays usable after an error frame');
    } finally {
      c.close();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('a client that leaves with 32 requests in flight cancels them; the agent keeps serving and logs no failure', async () => {
  const h = vectorHome();
  try {
    await startAgent(h);
    for (let round = 0; round < 5; round++) {
      const c = net.createConnection({ path: sockOf(h) });
      await new Promise((r) => c.once('connect', r));
      const lines = Array.from({ length: 32 }, (_, i) => `{"v":2,"id":${i},"op":"getselected","project":"default"}\n`).join('');
      c.write(lines);
      c.destroy(); // leaves at once: whatever is in flight is cancelled, whatever was decrypted wiped
    }
    const after = await rawLines(sockOf(h), '{"v":2,"id":1,"op":"get","project":"default","key":"DATABASE_URL"}\n', 1);
    assert.deepEqual(JSON.parse(after[0]!), { v: 2, id: 1, frame: 'ok', value: 'cG9zdGdyZXM6Ly91OnBAZGIveA==' });
    assert.doesNotMatch(logOf(h), /request failed/);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
