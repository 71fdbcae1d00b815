/**
 * `getselected`: a selection through the plaintext door (which decides names before it
 * decrypts), encoded into one off-heap reply. Every plaintext Buffer is wiped before return,
 * also when the request was cancelled meanwhile (then nothing is encoded).
 */
import type { Selection } from '../../vault/vault.js';
import type { OpContext, Reply } from './context.js';

/** The selection `sel` of `project` as one off-heap reply; throws what the door throws or the abort. Every plaintext is wiped. */
export async function getSelected(ctx: OpContext, project: string, sel: Selection): Promise<Reply> {
  const { secrets, missing } = await ctx.door.readSelected(ctx.access, ctx.src, project, sel);
  try {
    ctx.access.signal.throwIfAborted();
    return { line: ctx.framer.secrets(secrets, missing), secret: true };
  } finally {
    for (const [, b] of secrets) b.fill(0);
  }
}
