/**
 * Matching for the version-2 protocol transcripts (test/vectors/agent-protocol/README.md):
 * placeholders, `$more`, and the per-request grouping of frames. The replay of v2 vectors
 * against a real agent uses this, and test/unit/protocol-v2-vectors.test.ts proves the
 * grouping rule on the vectors themselves.
 */
import assert from 'node:assert/strict';

export type Frame = Record<string, unknown>;

/** Facts of the run that placeholders stand for. */
export interface RunVars {
  agentPid: number;
  socket: string;
}

const PLACEHOLDERS: Record<string, (v: unknown, vars: RunVars) => boolean> = {
  $agent_pid: (v, vars) => v === vars.agentPid,
  $socket: (v, vars) => v === vars.socket,
  $iso_time: (v) => typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(v),
  $int: (v) => Number.isSafeInteger(v) && (v as number) >= 0,
  $string: (v) => typeof v === 'string',
  $object: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
};

/** Asserts that `actual` matches `expected` (placeholders; `"$more": true` admits extra members). */
export function matchValue(actual: unknown, expected: unknown, vars: RunVars, where: string): void {
  if (typeof expected === 'string' && expected.startsWith('$')) {
    const ok = PLACEHOLDERS[expected];
    assert.ok(ok, `unknown placeholder ${expected}`);
    assert.ok(ok(actual, vars), `${where}: ${JSON.stringify(actual)} does not match ${expected}`);
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    assert.equal(Array.isArray(actual), Array.isArray(expected), `${where}: array vs object`);
    assert.ok(actual !== null && typeof actual === 'object', `${where}: expected an object, got ${JSON.stringify(actual)}`);
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    const more = !Array.isArray(e) && e.$more === true;
    const want = Object.keys(e).filter((k) => !(more && k === '$more'));
    if (more) for (const k of want) assert.ok(Object.hasOwn(a, k), `${where}: missing member ${k}`);
    else assert.deepEqual(Object.keys(a).sort(), want.sort(), `${where}: fields`);
    for (const k of want) matchValue(a[k], e[k], vars, `${where}.${k}`);
    return;
  }
  assert.deepEqual(actual, expected, where);
}

/** The stream a line belongs to: a v2 frame by its id (type and value), a v1-form line to "v1". */
export function streamOf(f: Frame): string {
  return Object.hasOwn(f, 'frame') ? `id:${JSON.stringify(f.id)}` : 'v1';
}

/**
 * Asserts that the lines received for one exchange match its `expect`: in exactly that
 * order for `exact`; otherwise per stream, in order within each stream, streams free to
 * interleave. `actual` must hold exactly as many lines as `expected`.
 */
export function matchExchange(actual: Frame[], expected: Frame[], order: 'exact' | 'per_request' | undefined, vars: RunVars, where: string): void {
  assert.equal(actual.length, expected.length, `${where}: number of lines`);
  if (order === 'exact') {
    expected.forEach((e, i) => {
      matchValue(actual[i], e, vars, `${where}[${i}]`);
    });
    return;
  }
  const group = (xs: Frame[]): Map<string, Frame[]> => {
    const m = new Map<string, Frame[]>();
    for (const x of xs) m.set(streamOf(x), [...(m.get(streamOf(x)) ?? []), x]);
    return m;
  };
  const a = group(actual);
  const e = group(expected);
  assert.deepEqual([...a.keys()].sort(), [...e.keys()].sort(), `${where}: streams`);
  for (const [s, frames] of e)
    frames.forEach((f, i) => {
      matchValue(a.get(s)![i], f, vars, `${where} ${s}[${i}]`);
    });
}
