/**
 * The client's version-2 streaming API against a scripted server in this process: frames
 * routed by id, intermediate frames, per-request timeouts, connection-level errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { connectAgent, type AgentClient } from '../../src/core/agent/client.js';
import { SesameError } from '../../src/core/errors.js';

type Req = { v: number; id: number; op: string; key?: string };
const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** Serves `script(req, write)` for every request line; runs `use` with a connected client. */
async function withServer(script: (q: Req, write: (o: unknown) => void) => void, use: (c: AgentClient) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-v2client-'));
  fs.chmodSync(dir, 0o700);
  const sock = path.join(dir, 's');
  const server = net.createServer((c) => {
    let buf = '';
    c.on('error', () => {});
    c.on('data', (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const q = JSON.parse(buf.slice(0, i)) as Req;
        buf = buf.slice(i + 1);
        script(q, (o) => c.write(`${typeof o === 'string' ? o : JSON.stringify(o)}\n`));
      }
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  fs.chmodSync(sock, 0o600);
  try {
    const client = await connectAgent(sock, {});
    assert.ok(client);
    try {
      await use(client);
    } finally {
      client.close();
    }
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('the client sends version 2 and routes interleaved final frames to their requests by id', async () => {
  const held: Array<() => void> = [];
  await withServer(
    (q, write) => {
      assert.equal(q.v, 2);
      held.push(() => {
        write({ v: 2, id: q.id, frame: 'ok', value: b64(`v-${q.key}`) });
      });
      // Answer in reverse order once all three are in flight.
      if (held.length === 3) for (const f of held.reverse()) f();
    },
    async (c) => {
      const got = await Promise.all([c.get('p', 'A'), c.get('p', 'B'), c.get('p', 'C')]);
      assert.deepEqual(got.map(String), ['v-A', 'v-B', 'v-C']);
    },
  );
});

test('a pending frame reaches onFrame and extends the timeout; an unknown intermediate frame is passed on, not fatal', async () => {
  await withServer(
    (q, write) => {
      write({ v: 2, id: q.id, frame: 'pending', reason: 'approval', message: 'waiting for the owner', detail: { expires_in_s: 1 } });
      write({ v: 2, id: q.id, frame: 'progress', done: 1, novel: true });
      setTimeout(() => {
        write({ v: 2, id: q.id, frame: 'ok', status: { pid: 1 } });
      }, 300);
    },
    async (c) => {
      const seen: string[] = [];
      const st = await c.request({ op: 'status' }, (r) => r.status, { timeoutMs: 150, onFrame: (f) => seen.push(String(f.frame)) });
      assert.deepEqual(st, { pid: 1 });
      assert.deepEqual(seen, ['pending', 'progress']);
    },
  );
});

test('a request without its final frame in time fails with UNAVAILABLE', async () => {
  await withServer(
    () => {},
    async (c) => {
      await assert.rejects(
        c.request({ op: 'status' }, (r) => r, { timeoutMs: 100 }),
        (e: unknown) => e instanceof SesameError && e.code === 'UNAVAILABLE' && /did not answer/.test(e.message),
      );
    },
  );
});

test('a connection-level error line ends every request in flight with that error', async () => {
  let n = 0;
  await withServer(
    (_q, write) => {
      if (++n === 2) write({ v: 1, ok: false, error: { code: 'PROTOCOL', message: 'no complete request for 10 s; closing the connection', detail: { reason: 'deadline' } } });
    },
    async (c) => {
      const both = await Promise.allSettled([c.get('p', 'A'), c.get('p', 'B')]);
      for (const r of both) {
        assert.equal(r.status, 'rejected');
        assert.match(String(r.reason), /no complete request/);
      }
    },
  );
});

test('a frame for an id not in flight, or a value where none belongs, is refused and drops the connection', async () => {
  for (const bad of [(q: Req) => ({ v: 2, id: q.id + 100, frame: 'ok', value: b64('x') }), (q: Req) => ({ v: 2, id: q.id, frame: 'pending', reason: 'approval', message: 'm', value: b64('x') })]) {
    await withServer(
      (q, write) => {
        write(bad(q));
      },
      async (c) => {
        await assert.rejects(c.get('p', 'A'), (e: unknown) => e instanceof SesameError && e.code === 'PROTOCOL');
        await assert.rejects(c.get('p', 'A'), (e: unknown) => e instanceof SesameError && e.code === 'UNAVAILABLE');
      },
    );
  }
});

test('list is validated: byte order, asked project only, keys within the prefix', async () => {
  const key = (k: string) => ({ key: k, created_at: 't', updated_at: 't', version: 1, high_value: false });
  const cases: Array<[unknown, (c: AgentClient) => Promise<unknown>]> = [
    [
      [
        { name: 'b', keys: [] },
        { name: 'a', keys: [] },
      ],
      (c) => c.list(),
    ],
    [[{ name: 'a', keys: [key('B'), key('A')] }], (c) => c.list()],
    [[{ name: 'other', keys: [] }], (c) => c.list('a')],
    [[{ name: 'a', keys: [key('ZZ')] }], (c) => c.list('a', 'A')],
    [[{ name: 'a', keys: [key('X;rm')] }], (c) => c.list()],
  ];
  for (const [projects, call] of cases) {
    await withServer(
      (q, write) => {
        write({ v: 2, id: q.id, frame: 'ok', projects });
      },
      async (c) => assert.rejects(call(c), (e: unknown) => e instanceof SesameError && e.code === 'PROTOCOL'),
    );
  }
  await withServer(
    (q, write) => {
      write({ v: 2, id: q.id, frame: 'ok', projects: [{ name: 'a', keys: [{ ...key('A'), extra: 1 }] }] });
    },
    async (c) => {
      assert.deepEqual(await c.list(), [{ name: 'a', keys: [key('A')] }]);
    },
  );
});
