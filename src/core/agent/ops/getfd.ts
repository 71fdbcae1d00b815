/**
 * `getfd`: one value through the plaintext door, answered with a file descriptor instead of
 * bytes (docs/spec/agent-protocol.md, `getfd`). The value goes from the door's Buffer into a
 * memfd_secret(2) file (kind `secret`) or, where the kernel refuses that or the client asked
 * for `"kind":"sealed"`, into a sealed memfd_create(2) file (kind `sealed`); the Buffer is
 * wiped at once, before anything is sent. The reply carries no value: its `ok` frame names
 * the kind and the size, and the connection (conn.ts) sends it with the descriptor attached
 * (SCM_RIGHTS), closes the agent's copy and ends the connection.
 *
 * SESAME_TEST_FD_SEALED=1 in the AGENT's environment (read once, when this module loads)
 * makes every delivery the sealed kind: the tests use it to cover the fallback on a kernel
 * that has secretmem. It can only weaken a delivery to the kind every kernel without
 * secretmem gives anyway, never strengthen or widen anything; a client cannot set it.
 */
import { SesameError } from '../../errors.js';
import { memfdSealed, memfdSecret } from '../../os/native.js';
import type { OpContext, Reply } from './context.js';

/** What a client may ask for: the best kind there is (default), or the kind read(2) can read. */
export type FdKindWanted = 'best' | 'sealed';

const FORCE_SEALED = process.env.SESAME_TEST_FD_SEALED === '1';

/**
 * One value of `project`/`key` in a memory file. Resolves with an `ok` frame (kind, size) and
 * the descriptor (`fd`), which the connection must send and close — or close unsent. Throws
 * what the door throws (NOT_FOUND, DENIED, …) or the abort; nothing is created then.
 */
export async function getfd(ctx: OpContext, project: string, key: string, wanted: FdKindWanted = 'best'): Promise<Reply> {
  const value = await ctx.door.readOne(ctx.access, ctx.src, project, key);
  ctx.debug?.(`fd: fetched ${project}/${key} (${value.length} bytes)`);
  let fd: number;
  let kind: 'secret' | 'sealed';
  const size = value.length;
  try {
    ctx.access.signal.throwIfAborted();
    const s = wanted === 'best' && !FORCE_SEALED ? memfdSecret(value) : null;
    if (s !== null) {
      fd = s;
      kind = 'secret';
    } else {
      fd = memfdSealed(value);
      kind = 'sealed';
    }
  } catch (e) {
    if (e instanceof SesameError) throw e;
    throw new SesameError('ERROR', 'the agent could not put the value in a memory file', { hint: 'see agent.log', cause: e });
  } finally {
    value.fill(0);
  }
  ctx.debug?.(`fd: ${kind} memory file made for ${project}/${key}; plaintext buffer wiped`);
  return { line: ctx.framer.ok({ kind, size }), secret: false, fd, fdInfo: { project, key, kind } };
}
