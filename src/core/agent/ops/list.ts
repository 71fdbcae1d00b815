/**
 * `list` (version 2): names and metadata — never values — of what the caller may see,
 * optionally one project and a key prefix (docs/spec/agent-protocol.md, "list"). Nothing is
 * decrypted: the door reads metadata only and filters it by the caller's view. Only the
 * spec's metadata members go on the wire, in byte order of names.
 */
import type { OpContext, Reply } from './context.js';

const byName =
  <T>(f: (x: T) => string) =>
  (a: T, b: T): number =>
    f(a) < f(b) ? -1 : f(a) > f(b) ? 1 : 0;

/** The names and metadata the caller may see (optionally one project, a key prefix), never a value; throws what the door throws. */
export async function list(ctx: OpContext, project: string | undefined, prefix: string | undefined): Promise<Reply> {
  const r = await ctx.door.listVisible(ctx.access, ctx.src, project, prefix);
  const projects = [...r.projects].sort(byName((p) => p.name)).map((p) => ({
    name: p.name,
    keys: p.keys
      .filter((k) => prefix === undefined || k.key.startsWith(prefix))
      .map((k) => ({ key: k.key, created_at: k.created_at, updated_at: k.updated_at, version: k.version, high_value: k.high_value }))
      .sort(byName((k) => k.key)),
  }));
  return { line: ctx.framer.ok({ projects }), secret: false };
}
