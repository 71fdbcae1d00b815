import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MAX_REQUEST_BYTES, decodeRequest, errorLine, okLine, secretsLine, valueLine } from '../../src/core/agent/protocol.js';
import { b64Decode, b64EncodeInto, b64Length } from '../../src/core/agent/b64.js';
import { parseJsonBytes } from '../../src/core/agent/secret-json.js';
import { LineSplitter } from '../../src/core/agent/line-splitter.js';
import { SesameError } from '../../src/core/errors.js';

const req = (o: unknown): ReturnType<typeof decodeRequest> => decodeRequest(Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)));
function reasonOf(d: ReturnType<typeof decodeRequest>): string | undefined {
  assert.equal(d.ok, false);
  return d.ok ? undefined : (d.error.detail?.reason as string | undefined);
}

test('a valid get, getselected, status and stop decode to typed requests', () => {
  assert.deepEqual(req({ v: 1, op: 'get', project: 'default', key: 'API_KEY', id: 7, pid: 42 }), { ok: true, req: { op: 'get', project: 'default', key: 'API_KEY', id: 7, pid: 42 } });
  assert.deepEqual(req({ v: 1, op: 'getselected', project: 'p', only: ['A', 'B'], prefix: 'A' }), { ok: true, req: { op: 'getselected', project: 'p', only: ['A', 'B'], prefix: 'A' } });
  assert.deepEqual(req({ v: 1, op: 'status' }), { ok: true, req: { op: 'status' } });
  assert.deepEqual(req({ v: 1, op: 'stop', id: 'x' }), { ok: true, req: { op: 'stop', id: 'x' } });
});

test('malformed JSON and non-objects are explicit malformed errors', () => {
  for (const s of ['', '{', 'nope', '[1]', 'null', '42', '"str"', '{"v":1,}']) assert.equal(reasonOf(req(s)), 'malformed', s);
});

test('an unsupported protocol version is a version error that names the versions spoken', () => {
  const d = req({ v: 3, op: 'get', project: 'default', key: 'K', id: 3 });
  assert.equal(reasonOf(d), 'version');
  assert.ok(!d.ok && d.error.message === 'protocol version 3 is not supported; this agent speaks versions 1 and 2');
  assert.ok(!d.ok && JSON.stringify(d.error.detail) === '{"reason":"version","supported":[1,2]}');
  assert.ok(!d.ok && d.id === 3, 'the id is echoed even on errors');
  assert.equal(reasonOf(req({ op: 'get' })), 'bad_args', 'a missing version is a bad argument');
});

test('write ops and anything unlisted are "unknown op"', () => {
  for (const op of ['set', 'rm', 'init', 'passphrase', 'getall', 'import', 'export', 'exec', 'GET', '']) {
    const d = req({ v: 1, op, project: 'default', key: 'K' });
    assert.equal(reasonOf(d), 'unknown_op', op);
    assert.ok(!d.ok && d.error.hint?.includes('read-only'));
  }
});

test('bad arguments are named, for every op and field', () => {
  const bad: unknown[] = [
    { v: 1, op: 'get', project: 'default' },
    { v: 1, op: 'get', project: 'default', key: '1BAD' },
    { v: 1, op: 'get', project: 'default', key: 'A'.repeat(257) },
    { v: 1, op: 'get', project: '../x', key: 'K' },
    { v: 1, op: 'get', key: 'K' },
    { v: 1, op: 'get', project: 'default', key: 'K', extra: 1 },
    { v: 1, op: 'status', project: 'default' },
    { v: 1, op: 'getselected', project: 'default', only: 'A' },
    { v: 1, op: 'getselected', project: 'default', only: ['A', 3] },
    { v: 1, op: 'getselected', project: 'default', prefix: 'A-' },
    { v: 1, op: 'get', project: 'default', key: 'K', pid: -1 },
    { v: 1, op: 'get', project: 'default', key: 'K', pid: 1.5 },
    { v: 1, op: 'status', id: { x: 1 } },
    { v: 1, op: 7 },
    { v: '1', op: 'status' },
  ];
  for (const b of bad) assert.equal(reasonOf(req(b)), 'bad_args', JSON.stringify(b).slice(0, 80));
});

test('fuzz: no input makes decodeRequest throw, and every failure is a PROTOCOL error', () => {
  const seeds = ['{"v":1,"op":"get","project":"default","key":"K"}', '{"v":1,"op":"getselected","project":"p","only":["A"]}', '{"v":1,"op":"status"}'];
  for (let i = 0; i < 3000; i++) {
    const seed = Buffer.from(seeds[i % seeds.length]!);
    const b = i % 3 === 0 ? randomBytes(i % 200) : Buffer.from(seed);
    if (i % 3 !== 0) for (let j = 0; j < 1 + (i % 4); j++) b[(i * 7 + j * 13) % b.length] = randomBytes(1)[0]!;
    const d = decodeRequest(b);
    if (!d.ok) {
      assert.ok(d.error instanceof SesameError);
      assert.equal(d.error.code, 'PROTOCOL');
    }
  }
});

test('base64 agrees with the standard encoding for every length 0..300', () => {
  for (let n = 0; n <= 300; n++) {
    const src = randomBytes(n);
    const dst = Buffer.alloc(b64Length(n) + 2);
    const end = b64EncodeInto(src, dst, 1);
    assert.equal(end, 1 + b64Length(n));
    assert.equal(dst.subarray(1, end).toString('latin1'), src.toString('base64'));
    const back = b64Decode(dst, 1, end);
    assert.ok(back && back.equals(src));
  }
});

test('base64 decoding is strict: bad length, alphabet and padding are refused', () => {
  for (const s of ['A', 'AB', 'ABC', 'AB=C', '====', 'A===', 'AB C', 'AB-_', 'QQ==QQ==']) assert.equal(b64Decode(Buffer.from(s)), null, s);
  assert.throws(() => b64EncodeInto(Buffer.from('abc'), Buffer.alloc(3), 0), RangeError);
});

test('the response parser agrees with JSON.parse and turns value members into Buffers', () => {
  const docs = [
    { v: 1, ok: true, status: { pid: 3, socket: '/a "b"\\c\u00e9\u2028', idle_remaining_s: null, n: -1.5e3, t: [true, false, {}] } },
    { v: 1, ok: false, error: { code: 'NOT_FOUND', message: 'no key X', detail: { key: 'X' } } },
    [],
    {},
    'x',
    0,
  ];
  for (const d of docs) assert.deepEqual(parseJsonBytes(Buffer.from(JSON.stringify(d))), d);
  const secret = randomBytes(40);
  const parsed = parseJsonBytes(Buffer.from(`{"ok":true,"secrets":[{"key":"A","value":"${secret.toString('base64')}"}],"value":""}`)) as { secrets: Array<{ value: Buffer }>; value: Buffer };
  assert.ok(Buffer.isBuffer(parsed.secrets[0]!.value) && parsed.secrets[0]!.value.equals(secret));
  assert.ok(Buffer.isBuffer(parsed.value) && parsed.value.length === 0);
  for (const bad of ['{"value":1}', '{"value":"!!"}', '{"a":1', '{"a":1}x', '[1,]', '{"a":01}', '"\u0001"', '{"__proto__":1', 'tru']) {
    assert.throws(() => parseJsonBytes(Buffer.from(bad)), SyntaxError, bad);
  }
  assert.equal(Object.getPrototypeOf(parseJsonBytes(Buffer.from('{"__proto__":{"x":1}}'))), Object.prototype, 'no prototype pollution');
});

test('response lines are one JSON line each, echo the id, and carry values as base64', () => {
  const v = Buffer.from('s3cr3t\n\u00ff');
  const line = valueLine(5, v);
  assert.equal(line[line.length - 1], 0x0a);
  assert.deepEqual(JSON.parse(line.toString()), { v: 1, id: 5, ok: true, value: v.toString('base64') });
  const sel = secretsLine(
    undefined,
    [
      ['A', Buffer.from('1')],
      ['B', Buffer.alloc(0)],
    ],
    ['C'],
  );
  assert.deepEqual(JSON.parse(sel.toString()), {
    v: 1,
    ok: true,
    secrets: [
      { key: 'A', value: 'MQ==' },
      { key: 'B', value: '' },
    ],
    missing: ['C'],
  });
  assert.deepEqual(JSON.parse(secretsLine('q', [], []).toString()), { v: 1, id: 'q', ok: true, secrets: [], missing: [] });
  assert.deepEqual(JSON.parse(okLine(undefined, {}).toString()), { v: 1, ok: true });
  const e = new SesameError('NOT_FOUND', 'no key K', { hint: 'see list', detail: { key: 'K' } });
  assert.deepEqual(JSON.parse(errorLine(1, e).toString()), { v: 1, id: 1, ok: false, error: { code: 'NOT_FOUND', message: 'no key K', hint: 'see list', detail: { key: 'K' } } });
});

test('the line splitter frames across chunks and enforces the cap at its exact boundary', () => {
  const s = new LineSplitter(10);
  assert.deepEqual(s.push(Buffer.from('ab')).lines, []);
  const r = s.push(Buffer.from('c\nde\n\nf'));
  assert.deepEqual(r.lines.map(String), ['abc', 'de', '']);
  assert.equal(s.buffered, 1);
  assert.deepEqual(s.push(Buffer.from('123456789\n')).lines.map(String), ['f123456789'], 'exactly 10 bytes is allowed');
  const over = s.push(Buffer.from('12345678901'));
  assert.equal(over.oversize, true);
  assert.equal(s.push(Buffer.from('\n')).oversize, true, 'once oversize, always oversize');
  const big = new LineSplitter(MAX_REQUEST_BYTES);
  assert.equal(big.push(Buffer.alloc(MAX_REQUEST_BYTES, 0x20)).oversize, false);
  assert.equal(big.push(Buffer.from(' ')).oversize, true);
});

test('property: the response parser equals JSON.parse on random documents without value members', () => {
  let seed = 42;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const str = (): string => String.fromCharCode(...Array.from({ length: rnd(8) }, () => [0x22, 0x5c, 0x0a, 0x41, 0xe9, 0x2028, 0x1f600 & 0xffff, 0x7f, 0x20][rnd(9)]!));
  const gen = (depth: number): unknown => {
    const k = rnd(depth > 3 ? 4 : 6);
    if (k === 0) return rnd(2) === 0 ? null : rnd(2) === 0;
    if (k === 1) return ((rnd(2) ? -1 : 1) * rnd(1e6)) / (rnd(2) ? 1 : 1000);
    if (k === 2 || k === 3) return str();
    if (k === 4) return Array.from({ length: rnd(4) }, () => gen(depth + 1));
    return Object.fromEntries(Array.from({ length: rnd(4) }, () => [`k${str()}`, gen(depth + 1)]));
  };
  for (let i = 0; i < 2000; i++) {
    const doc = gen(0);
    const text = JSON.stringify(doc);
    assert.deepEqual(parseJsonBytes(Buffer.from(text)), JSON.parse(text), text);
  }
});

test('with copyRest, a line split across reads of one reused buffer survives the buffer being wiped between reads', () => {
  const s = new LineSplitter(64, { copyRest: true });
  const buf = Buffer.alloc(8);
  buf.write('abc\ndef', 'latin1');
  const first = s.push(buf.subarray(0, 7));
  assert.deepEqual(
    first.lines.map((l) => l.toString()),
    ['abc'],
  );
  buf.fill(0); // the reader wipes its buffer after each read
  buf.write('gh\n', 'latin1');
  const second = s.push(buf.subarray(0, 3));
  assert.deepEqual(
    second.lines.map((l) => l.toString()),
    ['defgh'],
  );
  // Without copyRest the held bytes are a view, and the wipe reaches them (the agent's side wants that).
  const v = new LineSplitter(64);
  const b2 = Buffer.from('xy', 'latin1');
  v.push(b2);
  b2.fill(0);
  assert.equal(v.push(Buffer.from('\n')).lines[0]!.toString('latin1'), '\0\0');
});
