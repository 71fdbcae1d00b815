/**
 * Puts the approval hook into every read of a plaintext door (src/core/access.ts): each
 * function of the door whose first argument is the AccessContext gets the context with
 * `hooks.approve` set. Generic over the door's functions on purpose: a door function added
 * later (an exec's selection read) goes through the hook without a change here.
 */
import type { AccessContext, AccessHooks } from '../access.js';

type DoorFn = (ctx: AccessContext, ...rest: never[]) => unknown;

/** `door` with `approve` in every request's hooks (chained after one already there). */
export function withApprovalHook<D extends object>(door: D, approve: NonNullable<AccessHooks['approve']>): D {
  const hooked = (ctx: AccessContext): AccessContext => {
    const hooks = ctx.hooks;
    const both: NonNullable<AccessHooks['approve']> = hooks?.approve
      ? async (c, w, wait) => {
          await hooks.approve?.(c, w, wait);
          await approve(c, w, wait);
        }
      : approve;
    return { ...ctx, hooks: { ...ctx.hooks, approve: both } };
  };
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(door)) {
    out[name] = typeof fn === 'function' ? (ctx: AccessContext, ...rest: never[]) => (fn as DoorFn)(hooked(ctx), ...rest) : fn;
  }
  return out as D;
}
