import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentClient } from '../../src/core/agent/client.js';
import { agentWrite } from '../../src/core/agent/write-client.js';
import { SesameError } from '../../src/core/errors.js';

/** A client whose agent answers every request with `answer` (as an impostor agent could). */
function answering(answer: Record<string, unknown>): AgentClient {
  return {
    request: (_fields: Record<string, unknown>, check: (r: never) => unknown) => Promise.resolve().then(() => check(answer as never)),
  } as unknown as AgentClient;
}

const ok = { result: 'removed', event: 'rm', project: 'default', keys: ['API_KEY'], version: null, from: null };

test('a write answer is taken only with names a vault can hold: terminal escapes in a key, project or result word are refused as PROTOCOL', async () => {
  const w = { op: 'rm', project: 'default', key: 'API_KEY' } as const;
  assert.deepEqual(await agentWrite(answering(ok), w), { result: 'removed', event: 'rm', project: 'default', keys: ['API_KEY'] });
  for (const hostile of [
    { ...ok, keys: ['\u001b]0;pwned\u0007'] },
    { ...ok, project: 'default\u001b[2J' },
    { ...ok, result: 'removed\nforged line' },
    { ...ok, event: 'RM' },
  ]) {
    await assert.rejects(agentWrite(answering(hostile), w), (e: unknown) => e instanceof SesameError && e.code === 'PROTOCOL' && !e.message.includes('\u001b'));
  }
});
