/**
 * `get`: one value through the plaintext door, base64-encoded straight into an off-heap
 * reply (protocol.ts `valueAfter`). The plaintext is wiped before return; nothing is
 * encoded for a request cancelled meanwhile.
 */
import type { OpContext, Reply } from './context.js';

/** One value of `project`/`key` as an off-heap reply; throws what the door throws (NOT_FOUND, DENIED, …) or the abort. */
export async function get(ctx: OpContext, project: string, key: string): Promise<Reply> {
  const value = await ctx.door.readOne(ctx.access, ctx.src, project, key);
  try {
    ctx.access.signal.throwIfAborted();
    return { line: ctx.framer.value(value), secret: true };
  } finally {
    value.fill(0);
  }
}
