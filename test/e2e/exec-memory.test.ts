/**
 * No secret becomes a JavaScript string in the agent, and nothing keeps a copy after an exec:
 * after 100 execs with the values in the children's environments (and masked in their
 * output), a scan of the agent's whole memory (test/helpers/procmem.ts) finds no copy of any
 * value nor of its base64. Needs root (the agent is not dumpable).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { startAgent, stopAgent } from '../helpers/agent.js';
import { canReadForeignMemory, countInMemory } from '../helpers/procmem.js';
import { execHome, once, ownerSock, profileSock } from '../helpers/exec-frames.js';

test('a scan of the agent memory after 100 execs finds no copy of any value', async (t) => {
  if (!canReadForeignMemory()) {
    if (process.env.CI === 'true') throw new Error('this test must run as root in CI (it reads the agent memory)');
    t.skip('needs root to read the agent memory');
    return;
  }
  const values = [0, 1, 2].map(() => `mem-${crypto.randomBytes(18).toString('base64url')}`);
  const h = await execHome('sesame-exec-mem-', { K0: values[0]!, K1: values[1]!, K2: values[2]! }, { box: 'projects = ["default"]\nkeys = ["*"]\ncommands = ["/bin/sh"]\n' });
  try {
    const pid = await startAgent(h);
    for (let i = 0; i < 100; i++) {
      const sock = i % 2 ? ownerSock(h) : profileSock(h, 'box');
      const r = await once(sock, { id: i + 1, op: 'exec', project: 'default', argv: ['sh', '-c', 'echo "$K0 $K1"; echo "$K2" >&2'], cwd: '/' });
      assert.equal(r.last.code, 0, JSON.stringify(r.last));
      assert.equal(r.out.toString(), '<sesame:K0> <sesame:K1>\n');
    }
    await new Promise((r) => setTimeout(r, 200));
    const needles = values.flatMap((v) => [Buffer.from(v), Buffer.from(Buffer.from(v).toString('base64').slice(0, 24))]);
    const { counts, regions } = countInMemory(pid, needles);
    assert.ok(regions > 10, 'the scan read the agent memory');
    assert.deepEqual(
      counts,
      needles.map(() => 0),
      `copies found: ${JSON.stringify(counts)}`,
    );
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
