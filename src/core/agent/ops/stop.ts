/**
 * `stop`: acknowledged, then the agent shuts down (the connection layer calls the daemon's
 * stop once the reply is queued). Who may stop is authorize()'s decision (owner only),
 * taken before this runs.
 */
import type { OpContext, Reply } from './context.js';

/** The `stopping` reply, flagged so the connection layer stops the agent once it is queued. Never rejects. */
export function stop(ctx: OpContext): Promise<Reply> {
  return Promise.resolve({ line: ctx.framer.ok({ stopping: true }), secret: false, stop: true });
}
