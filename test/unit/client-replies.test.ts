/**
 * The agent client holds every reply to the protocol: an agent impostor of our own uid (a
 * process listening at the socket path) gets PROTOCOL errors, never output. Each case talks
 * to a real socket served in this process, through connectAgent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { connectAgent, type AgentClient } from '../../src/core/agent/client.js';
import { SesameError } from '../../src/core/errors.js';
import { parseJsonSecrets } from '../../src/core/agent/secret-json.js';

type Req = { id: number; op: string; only?: string[]; prefix?: string; [k: string]: unknown };
type Answer = (req: Req) => string;

const HI = Buffer.from('hi').toString('base64');

/**
 * The client speaks protocol version 2: a reply written below in Part 1's shape is sent as
 * the equivalent v2 frame (`"v":1` → `"v":2`, `"ok":true` → `"frame":"ok"`, `"ok":false` →
 * `"frame":"error"`), textually, so malformed and duplicate-member cases stay byte-exact.
 */
const asFrame = (line: string): string => line.replace('"v":1', '"v":2').replace('"ok":true', '"frame":"ok"').replace('"ok":false', '"frame":"error"');

/** Serves `answer` at a 0600 socket in a fresh 0700 dir; runs `use` with a connected client. */
async function withImpostor<T>(answer: Answer, use: (c: AgentClient) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-client-'));
  fs.chmodSync(dir, 0o700);
  const sock = path.join(dir, 's');
  const server = net.createServer((c) => {
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const req = JSON.parse(buf.slice(0, i)) as Req;
        buf = buf.slice(i + 1);
        c.write(`${asFrame(answer(req))}\n`);
      }
    });
    c.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(sock, r));
  fs.chmodSync(sock, 0o600);
  try {
    const client = await connectAgent(sock, {});
    assert.ok(client, 'connected');
    try {
      return await use(client);
    } finally {
      client.close();
    }
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The reply is refused with PROTOCOL, and the message names no value or name it carried. */
async function refused(answer: Answer, call: (c: AgentClient) => Promise<unknown>, label: string): Promise<void> {
  await withImpostor(answer, async (c) => {
    await assert.rejects(call(c), (e: unknown) => {
      assert.ok(e instanceof SesameError, `${label}: ${String(e)}`);
      assert.equal(e.code, 'PROTOCOL', `${label}: ${e.message}`);
      assert.doesNotMatch(`${e.message} ${e.hint ?? ''}`, /touch|pwned|aGk|LD_PRELOAD|EVIL/, label);
      return true;
    });
  });
}

const get = (c: AgentClient): Promise<unknown> => c.get('default', 'K');
const sel = (c: AgentClient): Promise<unknown> => c.getSelected('default', {});
const selOnly = (c: AgentClient): Promise<unknown> => c.getSelected('default', { only: ['A', 'B'] });

test('a well-formed reply is accepted: the value, the selection, the error the agent reported', async () => {
  await withImpostor(
    (q) => JSON.stringify({ v: 1, id: q.id, ok: true, value: HI }),
    async (c) => {
      assert.equal((await c.get('default', 'K')).toString(), 'hi');
    },
  );
  await withImpostor(
    (q) => JSON.stringify({ v: 1, id: q.id, ok: true, secrets: [{ key: 'A', value: HI }], missing: ['B'] }),
    async (c) => {
      const r = await c.getSelected('default', { only: ['A', 'B', 'A'] });
      assert.deepEqual([r.secrets.map(([k, v]) => `${k}=${v.toString('utf8')}`), r.missing], [['A=hi'], ['B']]);
    },
  );
  await withImpostor(
    // A peer refusal is a v1-form line without id in both versions (the space keeps asFrame off it).
    () => `{"v": 1, "ok": false,"error":${JSON.stringify({ code: 'DENIED', message: 'denied: no', hint: 'h' })}}`,
    async (c) => assert.rejects(c.get('default', 'K'), (e: unknown) => e instanceof SesameError && e.code === 'DENIED' && e.message === 'denied: no'),
  );
});

test('refuses a get reply with a wrong id, no id, a stray value, another version or no value', async () => {
  const cases: Record<string, Answer> = {
    'wrong id': (q) => JSON.stringify({ v: 1, id: q.id + 1, ok: true, value: HI }),
    'no id': () => JSON.stringify({ v: 1, ok: true, value: HI }),
    'string id': (q) => JSON.stringify({ v: 1, id: String(q.id), ok: true, value: HI }),
    'a second value in an extra field': (q) => JSON.stringify({ v: 1, id: q.id, ok: true, value: HI, key: { value: HI } }),
    'version 3': (q) => JSON.stringify({ v: 3, id: q.id, ok: true, value: HI }),
    'an exit frame': (q) => JSON.stringify({ v: 2, id: q.id, frame: 'exit', code: 0 }),
    'a v1 success line': (q) => `{"v": 1, "id": ${q.id}, "ok": true, "value": "${HI}"}`,
    'no value': (q) => JSON.stringify({ v: 1, id: q.id, ok: true }),
    'ok as a string': (q) => JSON.stringify({ v: 1, id: q.id, ok: 'true', value: HI }),
    'an array': () => '[]',
    'status instead of a value': (q) => JSON.stringify({ v: 1, id: q.id, ok: true, status: {} }),
  };
  for (const [label, a] of Object.entries(cases)) await refused(a, get, label);
});

test('refuses base64 that is malformed or not canonical, and a repeated member name', async () => {
  const cases: Record<string, Answer> = {
    'bad alphabet': (q) => `{"v":1,"id":${q.id},"ok":true,"value":"aGk!"}`,
    'bad length': (q) => `{"v":1,"id":${q.id},"ok":true,"value":"aGk"}`,
    escaped: (q) => `{"v":1,"id":${q.id},"ok":true,"value":"aG\\u0073="}`,
    'non-zero pad bits': (q) => `{"v":1,"id":${q.id},"ok":true,"value":"aGl="}`,
    'non-zero pad bits (==)': (q) => `{"v":1,"id":${q.id},"ok":true,"value":"QR=="}`,
    'a number': (q) => `{"v":1,"id":${q.id},"ok":true,"value":1}`,
    'value twice': (q) => `{"v":1,"id":${q.id},"ok":true,"value":"${HI}","value":"${HI}"}`,
    'id twice': (q) => `{"v":1,"id":${q.id + 1},"id":${q.id},"ok":true,"value":"${HI}"}`,
    'not JSON': () => 'EVIL',
  };
  for (const [label, a] of Object.entries(cases)) await refused(a, get, label);
});

test('refuses getselected names that break the key-name rule or were not asked for', async () => {
  const ok = (q: Req, secrets: unknown[], missing: unknown[] = []): string => JSON.stringify({ v: 1, id: q.id, ok: true, secrets, missing });
  await refused((q) => ok(q, [{ key: 'X;touch /tmp/pwned', value: HI }]), sel, 'shell code in a name');
  await refused((q) => ok(q, [{ key: 'A B', value: HI }]), sel, 'a space');
  await refused((q) => ok(q, [{ key: '', value: HI }]), sel, 'empty');
  await refused(
    (q) =>
      ok(q, [
        { key: 'A', value: HI },
        { key: 'A', value: HI },
      ]),
    sel,
    'twice',
  );
  await refused((q) => ok(q, [{ key: 'A', value: HI, extra: 1 }]), sel, 'extra entry field');
  await refused((q) => ok(q, [{ key: 'A' }]), sel, 'no value');
  await refused((q) => ok(q, [{ key: 'A', value: HI }], ['B']), sel, 'missing without --only');
  await refused((q) => ok(q, [{ key: 'EVIL', value: HI }], ['B']), selOnly, 'a name not asked for');
  await refused((q) => ok(q, [{ key: 'A', value: HI }]), selOnly, 'an asked name left out');
  await refused((q) => ok(q, [{ key: 'A', value: HI }], ['B', 'B']), selOnly, 'missing twice');
  await refused((q) => ok(q, [{ key: 'A', value: HI }], ['$(touch /tmp/pwned)']), selOnly, 'shell code in missing');
  await refused(
    (q) => ok(q, [{ key: 'LD_PRELOAD', value: HI }]),
    (c) => c.getSelected('default', { prefix: 'APP_' }),
    'outside the prefix',
  );
  await refused((q) => JSON.stringify({ v: 1, id: q.id, ok: true, secrets: [], missing: [], project: { value: HI } }), sel, 'a value in an extra field');
  await refused((q) => JSON.stringify({ v: 1, id: q.id, ok: true, secrets: {}, missing: [] }), sel, 'secrets not an array');
});

test('refuses error replies with an unknown code, control characters or a value', async () => {
  const err = (q: Req, error: unknown, extra: Record<string, unknown> = {}): string => JSON.stringify({ v: 1, id: q.id, ok: false, error, ...extra });
  await refused((q) => err(q, { code: 'PWNED', message: 'x' }), get, 'unknown code');
  await refused((q) => err(q, { code: 'NOT_FOUND', message: 'no key \u001b]0;EVIL\u0007' }), get, 'escape sequence');
  await refused((q) => err(q, { code: 'NOT_FOUND', message: 'x', hint: 'a\nb' }), get, 'newline in hint');
  await refused((q) => err(q, { code: 'NOT_FOUND', message: 'x', extra: 1 }), get, 'extra error field');
  await refused((q) => err(q, { code: 'NOT_FOUND', message: 'x', detail: { value: HI } }), get, 'a value in detail');
  await refused((q) => err(q, { code: 'NOT_FOUND', message: 'x' }, { value: HI }), get, 'a value beside the error');
  await refused((q) => err(q, 'NOT_FOUND'), get, 'error not an object');
});

test('refuses status and stop replies of the wrong shape', async () => {
  await refused(
    (q) => JSON.stringify({ v: 1, id: q.id, ok: true, status: { pid: 1, value: HI } }),
    (c) => c.status(),
    'a value in status',
  );
  await refused(
    (q) => JSON.stringify({ v: 1, id: q.id, ok: true, status: { socket: '\u001b[2J' } }),
    (c) => c.status(),
    'escape in status',
  );
  await refused(
    (q) => JSON.stringify({ v: 1, id: q.id, ok: true, stopping: 'yes' }),
    (c) => c.stop(),
    'stopping not true',
  );
});

test('after a refused reply the connection is dropped: a later request never reads a stale line', async () => {
  await withImpostor(
    (q) => `${JSON.stringify({ v: 1, id: q.id + 1, ok: true, value: HI })}\n${JSON.stringify({ v: 1, id: q.id + 1, ok: true, value: HI })}`,
    async (c) => {
      await assert.rejects(c.get('default', 'K'), /refused/);
      await assert.rejects(c.get('default', 'K'), (e: unknown) => e instanceof SesameError && e.code === 'UNAVAILABLE');
    },
  );
});

test('a reply refused half-way through parsing leaves no decoded value unwiped', () => {
  const wiped: Uint8Array[] = [];
  const fill = Buffer.prototype.fill;
  Buffer.prototype.fill = function (this: Buffer, ...a: Parameters<Buffer['fill']>) {
    if (a[0] === 0) wiped.push(this);
    return fill.apply(this, a);
  } as Buffer['fill'];
  try {
    for (const bad of [`{"secrets":[{"key":"A","value":"${HI}"}],"secrets":1}`, `{"a":{"value":"${HI}"},"b":{"value":"QR=="}}`, `{"a":{"value":"${HI}"},"b":tru}`]) {
      wiped.length = 0;
      assert.throws(() => parseJsonSecrets(Buffer.from(bad)), SyntaxError, bad);
      const decoded = wiped.filter((b) => b.length === 2);
      assert.equal(decoded.length, 1, `${bad}: the decoded value was wiped`);
      assert.deepEqual([...decoded[0]!], [0, 0]);
    }
  } finally {
    Buffer.prototype.fill = fill;
  }
  const { secrets } = parseJsonSecrets(Buffer.from(`{"a":{"value":"${HI}"},"b":[{"value":""}]}`));
  assert.deepEqual(secrets.map(String), ['hi', ''], 'every decoded value is listed for the caller to wipe');
});
