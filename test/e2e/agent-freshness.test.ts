/**
 * The agent learns that the vault changed without a stat per request (one per burst of
 * requests, src/core/agent/keeper.ts), yet a `set` is always visible to the very next
 * `get` — through the CLI, on a persistent connection, and while other clients keep the
 * agent busy (so its bursts run back to back and the stat is shared by many requests).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { initHome, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { sockOf, startAgent, stopAgent } from '../helpers/agent.js';

const ROUNDS = 25;

/** A persistent raw-protocol connection: `get(key)` sends one v1 request and resolves with the decoded value. */
function persistent(sock: string): Promise<{ get(key: string): Promise<string>; close(): void }> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection({ path: sock });
    let buf = '';
    const waiting: Array<(line: string) => void> = [];
    c.on('data', (d) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        waiting.shift()?.(line);
      }
    });
    c.on('error', reject);
    c.on('connect', () => {
      resolve({
        get: (key) =>
          new Promise((res) => {
            waiting.push((line) => {
              const r = JSON.parse(line) as { ok: boolean; value?: string; error?: unknown };
              assert.ok(r.ok, `get ${key} failed: ${line}`);
              res(Buffer.from(r.value!, 'base64').toString('utf8'));
            });
            c.write(`${JSON.stringify({ v: 1, op: 'get', project: 'default', key })}\n`);
          }),
        close: () => c.destroy(),
      });
    });
  });
}

/** `n` clients asking for `key` in a closed loop until stopped: the agent is never idle. */
async function busy(sock: string, n: number, key: string): Promise<{ served: () => number; stop: () => Promise<void> }> {
  let stopped = false;
  let served = 0;
  const clients = await Promise.all(Array.from({ length: n }, () => persistent(sock)));
  const loops = clients.map(async (c) => {
    while (!stopped) {
      await c.get(key);
      served++;
    }
    c.close();
  });
  return {
    served: () => served,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

async function withAgent(fn: (h: TestHome) => Promise<void>): Promise<void> {
  const h = await initHome('sesame-fresh-');
  try {
    await setSecret(h, 'FRESH', 'initial');
    await setSecret(h, 'OTHER', 'background');
    await startAgent(h);
    await fn(h);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
}

test('a set is visible to the very next get through the agent, every time', async () => {
  await withAgent(async (h) => {
    for (let i = 0; i < ROUNDS; i++) {
      await setSecret(h, 'FRESH', `value-${i}`);
      const r = await sesame(['get', 'FRESH'], { env: h.env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.out.replace(/\n$/, ''), `value-${i}`, `round ${i}`);
    }
  });
});

test('never serves a stale value on a persistent connection, even while other clients keep the agent busy', async () => {
  await withAgent(async (h) => {
    const load = await busy(sockOf(h), 8, 'OTHER');
    const mine = await persistent(sockOf(h));
    try {
      for (let i = 0; i < ROUNDS; i++) {
        await setSecret(h, 'FRESH', `busy-${i}`);
        assert.equal(await mine.get('FRESH'), `busy-${i}`, `round ${i}, persistent connection`);
        const r = await sesame(['get', 'FRESH'], { env: h.env });
        assert.equal(r.out.replace(/\n$/, ''), `busy-${i}`, `round ${i}, new connection: ${r.stderr}`);
      }
    } finally {
      mine.close();
      await load.stop();
    }
    assert.ok(load.served() > ROUNDS, `the background clients were served (${load.served()} requests)`);
  });
});
