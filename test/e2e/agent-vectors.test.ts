/**
 * Replays the protocol transcripts in test/vectors/agent-protocol/ against a real agent
 * (see the README there), version 1 and version 2 files alike. Any drift in the wire format
 * fails here. v2 exchanges are matched with test/helpers/v2-frames.ts (`matchExchange`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ROOT, makeHome, type TestHome } from '../helpers/cli.js';
import { sockOf, startAgent, stopAgent } from '../helpers/agent.js';
import { matchExchange, type Frame } from '../helpers/v2-frames.js';

const DIR = path.join(ROOT, 'test/vectors/agent-protocol');
const VECTOR_PASSPHRASE = 'vector passphrase: sesame v1';

interface Exchange {
  send?: string;
  send_repeat?: { text: string; count: number };
  expect: unknown;
  then?: 'close';
  order?: 'exact' | 'per_request';
}
interface Vector {
  description: string;
  protocol: number;
  agent_flags?: string[];
  exchanges: Exchange[];
}

function vectorHome(): TestHome {
  const h = makeHome('sesame-vec-');
  fs.mkdirSync(h.dir, { mode: 0o700 });
  fs.copyFileSync(path.join(ROOT, 'test/vectors/vault-v1.json'), path.join(h.dir, 'vault.json'));
  fs.chmodSync(path.join(h.dir, 'vault.json'), 0o600);
  fs.writeFileSync(h.passFile, `${VECTOR_PASSPHRASE}\n`, { mode: 0o600 });
  return h;
}

/** Reads reply lines one at a time; null once the agent has closed the connection. */
function lineReader(c: net.Socket): () => Promise<string | null> {
  let buf = '';
  let closed = false;
  let wake: (() => void) | undefined;
  c.on('data', (d: Buffer) => ((buf += d.toString('utf8')), wake?.()));
  c.on('close', () => ((closed = true), wake?.()));
  c.on('error', () => {});
  return async () => {
    for (;;) {
      const nl = buf.indexOf('\n');
      if (nl !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        return line;
      }
      if (closed) return null;
      await new Promise<void>((r) => (wake = r));
    }
  };
}

function match(actual: unknown, expected: unknown, vars: Record<string, unknown>, where: string): void {
  if (typeof expected === 'string' && expected.startsWith('$')) {
    const ok: Record<string, (v: unknown) => boolean> = {
      $agent_pid: (v) => v === vars.agentPid,
      $socket: (v) => v === vars.socket,
      $iso_time: (v) => typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(v),
      $int: (v) => Number.isSafeInteger(v) && (v as number) >= 0,
      $string: (v) => typeof v === 'string',
      $object: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
    };
    assert.ok(ok[expected], `unknown placeholder ${expected}`);
    assert.ok(ok[expected](actual), `${where}: ${JSON.stringify(actual)} does not match ${expected}`);
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    assert.equal(Array.isArray(actual), Array.isArray(expected), `${where}: array vs object`);
    assert.ok(actual !== null && typeof actual === 'object', `${where}: expected an object, got ${JSON.stringify(actual)}`);
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    assert.deepEqual(Object.keys(a).sort(), Object.keys(e).sort(), `${where}: fields`);
    for (const k of Object.keys(e)) match(a[k], e[k], vars, `${where}.${k}`);
    return;
  }
  assert.deepEqual(actual, expected, where);
}

const sendText = (x: Exchange): string =>
  x.send_repeat ? x.send_repeat.text.repeat(x.send_repeat.count) : x.send!.replaceAll('"$self"', String(process.pid)).replaceAll('"$other_pid"', String(process.pid === 1 ? 2 : 1));

for (const file of fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()) {
  const v = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as Vector;
  test(`protocol vector ${file} replays exactly: ${v.description}`, async () => {
    assert.ok(v.protocol === 1 || v.protocol === 2);
    assert.equal(v.protocol === 2, file.startsWith('v2-'), 'v2 files are named v2-*');
    const h = vectorHome();
    try {
      const agentPid = await startAgent(h, v.agent_flags ?? []);
      const vars = { agentPid, socket: sockOf(h) };
      const c = net.createConnection({ path: sockOf(h) });
      const next = lineReader(c);
      await new Promise((r) => c.once('connect', r));
      for (const [i, x] of v.exchanges.entries()) {
        c.write(sendText(x));
        if (v.protocol === 1) {
          const line = await next();
          assert.ok(line !== null, `${file} #${i}: the agent closed instead of answering`);
          match(JSON.parse(line), x.expect, vars, `${file} #${i}`);
        } else {
          const expected = x.expect as Frame[];
          const got: Frame[] = [];
          for (let k = 0; k < expected.length; k++) {
            const line = await next();
            assert.ok(line !== null, `${file} #${i}: the agent closed after ${k} of ${expected.length} lines`);
            got.push(JSON.parse(line) as Frame);
          }
          matchExchange(got, expected, x.order, vars, `${file} #${i}`);
        }
        if (x.then === 'close') assert.equal(await next(), null, `${file} #${i}: the connection must close after this reply`);
      }
      c.destroy();
    } finally {
      await stopAgent(h);
      h.cleanup();
    }
  });
}
