/**
 * The CLI's side of the `write` op (ops/write.ts): one WriteOp sent to the owner's agent, a
 * set's value (client.ts `request`, `value`) or an import's entries (write-wire.ts
 * `entriesAfter`) appended as base64 bytes in an off-heap line, and the agent's answer
 * checked. Names and numbers only come back.
 */
import { SesameError } from '../errors.js';
import { isValidKeyName, isValidProjectName } from '../names.js';
import type { WriteOp, WriteResult } from '../vault/writes.js';
import type { AgentClient } from './client.js';
import { entriesAfter, writeFields } from './ops/write-wire.js';

/** How long the CLI waits for a write (a lock wait on the agent's side included), ms. */
export const WRITE_TIMEOUT_MS = 60_000;

/** A result or event word as the vault writes them (`added`, `rolled_back`, `project_rename`…). */
const WORD = /^[a-z][a-z_]{0,31}$/;

const bad = (what: string): SesameError => new SesameError('PROTOCOL', `the agent's answer to a write is malformed (${what})`, { hint: 'restart the agent with the same sesame version' });

/**
 * Sends `w` to the agent and resolves with what it did. Rejects with the agent's error:
 * PROTOCOL `unknown_op` when the agent is read-only (not started with --writes), DENIED
 * for a caller that may not write, and the vault's own errors (NOT_FOUND, INVALID, BUSY…).
 * Does not wipe a set's value or an import's values (the caller owns them). The line must
 * fit (write-wire.ts `writeLineFits`): the agent drops a connection whose line is too long.
 */
export function agentWrite(client: AgentClient, w: WriteOp): Promise<WriteResult> {
  return client.request(
    writeFields(w),
    (r) => {
      const { result, event, project, keys, version, from } = r as Record<string, unknown>;
      // Names are checked as every read reply's are (reply-check.ts): the CLI prints them, and an
      // answer is not trusted to be free of terminal escapes.
      if (typeof result !== 'string' || !WORD.test(result) || typeof event !== 'string' || !WORD.test(event)) throw bad('result, event');
      if (typeof project !== 'string' || !isValidProjectName(project)) throw bad('project');
      if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' && isValidKeyName(k))) throw bad('keys');
      if (version !== null && !Number.isSafeInteger(version)) throw bad('version');
      if (from !== null && !Number.isSafeInteger(from)) throw bad('from');
      return { result, event, project, keys, ...(version === null ? {} : { version: version as number }), ...(from === null ? {} : { from: from as number }) };
    },
    {
      timeoutMs: WRITE_TIMEOUT_MS,
      ...(w.op === 'set' ? { value: w.value } : {}),
      ...(w.op === 'import' ? { tail: (open: string): Buffer => entriesAfter(open, w.entries) } : {}),
    },
  );
}

/** true when `e` is the agent saying it does not serve `write` (read-only: started without --writes). */
export function isReadOnlyAnswer(e: unknown): boolean {
  return e instanceof SesameError && e.code === 'PROTOCOL' && (e.detail as { reason?: unknown } | undefined)?.reason === 'unknown_op';
}
