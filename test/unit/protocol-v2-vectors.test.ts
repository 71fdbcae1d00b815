/**
 * The version-2 protocol transcripts (test/vectors/agent-protocol/v2-*.json) agree with the
 * spec before any agent replays them: well-formed frames, exactly one final frame per v2
 * request that has an id, nothing after a final frame, no token ever echoed, and the
 * refusals worded as authorize() words them. The replay against a real agent comes with the
 * version-2 connection layer (test/e2e/agent-vectors.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { isErrorCode } from '../../src/core/errors.js';
import { authorize, ownerOnlyPolicy } from '../../src/core/policy/authorize.js';

const DIR = path.join(ROOT, 'test/vectors/agent-protocol');
const SPEC = fs.readFileSync(path.join(ROOT, 'docs/spec/agent-protocol.md'), 'utf8');
const FINAL = new Set(['ok', 'error', 'exit']);
const INTERMEDIATE = new Set(['chunk', 'pending']);
const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

type Frame = Record<string, unknown>;
interface Exchange {
  send?: string;
  send_repeat?: { text: string; count: number };
  expect: Frame[];
  order?: 'exact' | 'per_request';
  then?: 'close';
}
interface Vector {
  description: string;
  protocol: number;
  agent_flags?: string[];
  exchanges: Exchange[];
}

const files = fs
  .readdirSync(DIR)
  .filter((f) => /^v2-.*\.json$/.test(f))
  .sort();
const load = (f: string): Vector => JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')) as Vector;
const streamOf = (f: Frame): string => ('frame' in f ? `id:${JSON.stringify(f.id)}` : 'v1');
const sentLines = (x: Exchange): string[] => (x.send ?? '').split('\n').slice(0, -1);

test('there are version-2 vectors, and the version-1 replay leaves them alone', () => {
  assert.ok(files.length >= 6, files.join(', '));
  const replay = fs.readFileSync(path.join(ROOT, 'test/e2e/agent-vectors.test.ts'), 'utf8');
  assert.ok(replay.includes("!f.startsWith('v2-')") || replay.includes('protocol === 2'), 'the v1 replay must not assert protocol 1 on v2 files');
});

for (const file of files) {
  test(`v2 vector ${file} is consistent with the spec`, () => {
    const v = load(file);
    assert.equal(v.protocol, 2);
    assert.ok(v.description.length > 10);
    assert.ok(v.exchanges.length > 0);
    for (const [i, x] of v.exchanges.entries()) {
      const where = `${file} #${i}`;
      assert.ok(Array.isArray(x.expect) && x.expect.length > 0, `${where}: expect is a non-empty array`);
      assert.ok(x.send === undefined || x.send.endsWith('\n'), `${where}: every sent line ends with \\n`);
      const finals = new Map<string, number>();
      for (const f of x.expect) {
        const s = streamOf(f);
        if (s === 'v1') {
          assert.equal(f.v, 1, `${where}: a v1-form line has v 1`);
          assert.equal(typeof f.ok, 'boolean', `${where}: a v1-form line has ok`);
          continue;
        }
        assert.deepEqual(Object.keys(f).slice(0, 3), ['v', 'id', 'frame'], `${where}: v, id, frame come first`);
        assert.equal(f.v, 2);
        assert.ok(f.id === null || typeof f.id === 'string' || Number.isSafeInteger(f.id), `${where}: id form`);
        const kind = f.frame as string;
        assert.ok(FINAL.has(kind) || INTERMEDIATE.has(kind), `${where}: frame type ${kind}`);
        assert.ok(!finals.has(s), `${where}: nothing may follow the final frame of ${s}`);
        if (FINAL.has(kind)) finals.set(s, 1);
        if (kind === 'error') {
          const e = f.error as { code: string; message: string; detail?: { reason?: string } };
          assert.ok(isErrorCode(e.code), `${where}: error code ${e.code}`);
          if (e.code === 'PROTOCOL' || e.code === 'DENIED') {
            assert.ok(e.detail?.reason, `${where}: a v2 ${e.code} error carries detail.reason`);
            assert.ok(SPEC.includes(`\`${e.detail.reason}\``), `${where}: reason ${e.detail.reason} is in the spec`);
          }
        }
        if (typeof f.value === 'string') assert.match(f.value, B64, `${where}: value is base64`);
      }
      // Every v2 request line with a usable id gets exactly one final frame in this exchange.
      for (const l of sentLines(x)) {
        let req: Frame;
        try {
          req = JSON.parse(l.replaceAll('"$self"', '1').replaceAll('"$other_pid"', '2')) as Frame;
        } catch {
          continue;
        }
        if (typeof req.token === 'string') {
          assert.ok(!JSON.stringify(x.expect).includes(req.token), `${where}: the token is never echoed`);
        }
        const usable = (typeof req.id === 'string' && req.id.length <= 64) || (Number.isSafeInteger(req.id) && (req.id as number) >= 0);
        if (req.v !== 2 || !usable) continue;
        const mine = x.expect.filter((f) => 'frame' in f && f.id === req.id && FINAL.has(f.frame as string));
        assert.equal(mine.length, 1, `${where}: request ${JSON.stringify(req.id)} gets exactly one final frame`);
      }
    }
  });
}

test('the v2 refusals in the vectors are worded exactly as authorize() words them', () => {
  const owner = { uid: 1, gid: 1, pid: 10, startTime: 1, exe: null, listener: { kind: 'owner' as const } };
  const policy = ownerOnlyPolicy(1);
  const byReason = new Map<string, { message: string; hint?: string }>();
  for (const f of files) {
    for (const x of load(f).exchanges) {
      for (const fr of x.expect) {
        const e = fr.error as { code: string; message: string; hint?: string; detail?: { reason?: string } } | undefined;
        if (fr.frame === 'error' && e?.code === 'DENIED' && e.detail?.reason) byReason.set(e.detail.reason, e);
      }
    }
  }
  for (const [reason, req] of [
    ['token_unknown', { op: 'get', project: 'default', key: 'K', tokenPresented: true }],
    ['pid', { op: 'status', pid: 11 }],
  ] as const) {
    const want = byReason.get(reason);
    assert.ok(want, `a vector shows the ${reason} refusal`);
    const d = authorize(owner, req, policy);
    assert.ok(!d.allow && !d.hidden && d.reason === reason);
    if (!d.allow && !d.hidden) assert.deepEqual({ message: d.message, hint: d.hint }, { message: want.message, hint: want.hint });
  }
});

test('the spec keeps the version-1 text and names every v2 frame type', () => {
  assert.ok(SPEC.includes('# The agent protocol, version 1\n'));
  assert.ok(SPEC.includes('# The agent protocol, version 2\n'));
  for (const t of [...FINAL, ...INTERMEDIATE]) assert.ok(SPEC.includes(`| \`${t}\` |`), `frame ${t} in the spec's table`);
});

test('the per-request matching rule admits any interleaving across requests and no reordering within one', async () => {
  const { matchExchange } = await import('../helpers/v2-frames.js');
  const vars = { agentPid: 4242, socket: '/s' };
  const concrete = (f: Frame): Frame =>
    JSON.parse(
      JSON.stringify(f)
        .replaceAll('"$object"', '{}')
        .replaceAll(',"$more":true', '')
        .replaceAll('"$agent_pid"', '4242')
        .replaceAll('"$socket"', '"/s"')
        .replaceAll('"$iso_time"', '"2026-11-30T00:00:00.000Z"')
        .replaceAll('"$int"', '1')
        .replaceAll('"$string"', '"x"'),
    ) as Frame;
  let checked = 0;
  for (const f of files) {
    for (const [i, x] of load(f).exchanges.entries()) {
      const real = x.expect.map(concrete);
      matchExchange(real, x.expect, x.order, vars, `${f} #${i}`);
      if (real.length < 2) continue;
      if (x.order === 'exact') {
        assert.throws(() => {
          matchExchange([...real].reverse(), x.expect, x.order, vars, f);
        }, `${f} #${i}: exact order is enforced`);
      } else {
        // Another interleaving that keeps each stream's order: group the lines by stream, last stream first.
        const { streamOf } = await import('../helpers/v2-frames.js');
        const keys = [...new Set(real.map(streamOf))].reverse();
        const regrouped = keys.flatMap((k) => real.filter((r) => streamOf(r) === k));
        matchExchange(regrouped, x.expect, x.order, vars, `${f} #${i} regrouped`);
      }
      checked++;
    }
  }
  assert.ok(checked >= 2, `${checked} multi-line exchanges`);
  // Two frames of one request may never swap.
  const chunk: Frame = { v: 2, id: 1, frame: 'chunk', stream: 'stdout', data: 'eA==' };
  const exit: Frame = { v: 2, id: 1, frame: 'exit', code: 0 };
  const other: Frame = { v: 2, id: 2, frame: 'ok', value: 'eA==' };
  matchExchange([chunk, other, exit], [chunk, exit, other], undefined, vars, 'interleaved');
  assert.throws(() => {
    matchExchange([exit, other, chunk], [chunk, exit, other], undefined, vars, 'swapped');
  });
  // $more admits extra members but still requires the listed ones.
  const { matchValue } = await import('../helpers/v2-frames.js');
  matchValue({ a: 1, b: 2 }, { a: 1, $more: true }, vars, 'more');
  assert.throws(() => {
    matchValue({ b: 2 }, { a: 1, $more: true }, vars, 'more');
  });
  assert.throws(() => {
    matchValue({ a: 1, b: 2 }, { a: 1 }, vars, 'exact');
  });
});
