/**
 * `sesame token new | list | revoke`: capability tokens (docs/tokens-and-profiles.md). The
 * core (core/policy/tokens.ts) makes, stores (digest only), lists and revokes; this file
 * reads options, prints, and tells a running agent to reload (SIGHUP).
 *
 * `token new` prints the token once, on stdout, and nothing else there (`--json`: one JSON
 * object holding it). The token stays in off-heap Buffers from its random bytes to the write
 * to stdout and is wiped after. It never appears in a message, a hint or a file.
 */
import { SesameError } from '../../core/errors.js';
import { checkProjectName } from '../../core/names.js';
import { allocSecret } from '../../core/bytes.js';
import { isValidKeyGlob } from '../../core/policy/authorize.js';
import type { Scope, ScopedOp } from '../../core/policy/caller.js';
import type { StoredToken, TokenInfo } from '../../core/policy/tokens.js';
import { parseDuration, usage } from '../args.js';
import type { Command, Group } from '../command.js';
import type { Ctx } from '../context.js';
import { info, json as outJson, out, warn } from '../output.js';
import { tellAgentToReload, reloadNote } from '../agent-reload.js';

const list = (v: string | boolean | undefined): string[] | undefined =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    : undefined;

/** The scope the options ask for; USAGE for a bad project name, key glob or op. */
function scopeOf(flags: Record<string, string | boolean | undefined>, ops: readonly ScopedOp[]): Scope {
  const projects = list(flags.project);
  const keys = list(flags.keys);
  const wanted = list(flags.ops);
  for (const p of projects ?? []) {
    try {
      checkProjectName(p);
    } catch (e) {
      throw usage(e instanceof Error ? e.message : 'invalid project name');
    }
  }
  for (const k of keys ?? []) if (!isValidKeyGlob(k)) throw usage(`invalid key glob ${JSON.stringify(k.slice(0, 64))}: letters, digits, _, * (any run) and ? (one character), at most 256`);
  let opList: ScopedOp[] | undefined;
  if (wanted) {
    const set = new Set<ScopedOp>();
    for (const o of wanted) {
      if (!(ops as readonly string[]).includes(o)) throw usage(`unknown op ${JSON.stringify(o.slice(0, 32))} for --ops`, `use some of: ${ops.join(', ')}`);
      set.add(o as ScopedOp);
      // `get` is one key or a selection of keys: the same power, so one word for both.
      if (o === 'get') set.add('getselected');
    }
    opList = ops.filter((o) => set.has(o));
  }
  if ((projects && projects.length === 0) || (keys && keys.length === 0) || (opList && opList.length === 0))
    throw usage('an empty --project, --keys or --ops would allow nothing', 'leave the option out for no restriction on that axis');
  return { ...(projects ? { projects: [...new Set(projects)] } : {}), ...(keys ? { keys: [...new Set(keys)] } : {}), ...(opList ? { ops: opList } : {}) };
}

/** Copies `parts` (strings are not secret; the Buffer is) into one off-heap Buffer. */
function joinOffHeap(parts: readonly (string | Buffer)[]): Buffer {
  const bufs = parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p));
  const all = allocSecret(bufs.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bufs) o += b.copy(all, o);
  return all;
}

function infoJson(t: StoredToken): Omit<TokenInfo, 'state' | 'revoked_at'> {
  return {
    id8: t.id8,
    name: t.name ?? null,
    scope: t.scope,
    created_at: new Date(t.createdAtMs).toISOString(),
    expires_at: t.expiresAtMs === undefined ? null : new Date(t.expiresAtMs).toISOString(),
  };
}

const newCmd: Command = {
  usage: 'token new [--project P]… [--keys GLOB]… [--ops OPS] [--ttl DUR] [--name N] [--json]\n\nexample:\n  sesame token new --project web --ttl 8h --name ci',
  summary: 'make a capability token and print it once (only its digest is kept)',
  flags: {
    project: { type: 'string', short: 'p', arg: 'P', repeatable: true, help: 'a project the token may reach (repeat, or comma-separate; default: every project)' },
    keys: { type: 'string', arg: 'GLOB', repeatable: true, help: 'key names it may reach: * any run, ? one character (repeat, or comma-separate; default: every key)' },
    ops: { type: 'string', arg: 'OPS', help: 'comma-separated ops it may use: status, get, list, exec, check (get includes getselected; default: every op but stop)' },
    ttl: { type: 'string', arg: 'DUR', help: 'expire after DUR, e.g. 1h, 7d (default: never)' },
    name: { type: 'string', arg: 'N', help: 'a name to recognise it by in the list' },
  },
  async run(ctx, { flags }) {
    const { newToken, tokenFilePath, SCOPED_OPS } = await import('../../core/policy/tokens.js');
    const scope = scopeOf(flags, SCOPED_OPS);
    let ttlMs: number | undefined;
    if (typeof flags.ttl === 'string') {
      ttlMs = parseDuration(flags.ttl, 'ttl');
      if (ttlMs === 0) throw usage('--ttl 0 would make a token that never works', 'leave --ttl out for a token that does not expire');
    }
    const name = typeof flags.name === 'string' ? flags.name : undefined;
    const { token, record } = newToken(tokenFilePath(ctx.paths.home), { scope, nowMs: Date.now(), ...(ttlMs !== undefined ? { ttlMs } : {}), ...(name !== undefined ? { name } : {}) });
    let line: Buffer | undefined;
    try {
      if (ctx.json) {
        const meta = JSON.stringify(infoJson(record)).slice(1); // `"id8":…}` — no secret in it
        line = joinOffHeap(['{"token":"', token, '",', meta, '\n']);
      } else line = joinOffHeap([token, '\n']);
      out(line);
    } finally {
      line?.fill(0);
      token.fill(0);
    }
    // Unkeyed: token commands never unlock (the id, never the token).
    await (await import('../audit-event.js')).auditEvent(ctx, { event: 'token_mint', outcome: 'ok', reason: `token:${record.id8}` });
    const r = await tellAgentToReload(ctx);
    if (!ctx.json) info(`token ${record.id8} made${record.name ? ` (${record.name})` : ''}: shown once above, keep it safe; ${reloadNote(r, 'it is')}`);
    if (!ctx.json && !scope.projects && !scope.keys && !scope.ops) warn('this token is unrestricted: it may do everything the owner may (use --project, --keys, --ops to narrow it)');
    return 0;
  },
};

function scopeText(s: Scope): string {
  const parts = [s.projects ? `projects=${s.projects.join(',')}` : 'projects=*', s.keys ? `keys=${s.keys.join(',')}` : 'keys=*', s.ops ? `ops=${s.ops.join(',')}` : 'ops=*'];
  return parts.join(' ');
}

const listCmd: Command = {
  usage: 'token list [--json]\n\nexample:\n  sesame token list',
  summary: 'list tokens: id, name, state, created, expires, scope (never the token)',
  flags: {},
  async run(ctx) {
    const { listTokens, tokenFilePath } = await import('../../core/policy/tokens.js');
    const rows = listTokens(tokenFilePath(ctx.paths.home), Date.now());
    // Last used: kept by a running agent in memory (never written to the home), reported to the
    // owner through its status; null when no agent runs or it has not seen the token.
    const { probeAgent } = await import('../../core/agent/probe.js');
    const used = new Map(Object.entries((await probeAgent(ctx.paths, ctx.env)).tokens_last_used ?? {}));
    if (ctx.json) {
      outJson({ tokens: rows.map((r) => ({ ...r, last_used: used.get(r.id8) ?? null })) });
      return 0;
    }
    if (rows.length === 0) {
      info('no tokens (make one with `sesame token new`)');
      return 0;
    }
    const day = (iso: string | null): string => (iso === null ? 'never' : iso.replace(/\.\d{3}Z$/, 'Z'));
    const table = [
      ['ID', 'NAME', 'STATE', 'CREATED', 'EXPIRES', 'LAST USED', 'SCOPE'],
      ...rows.map((r) => [r.id8, r.name ?? '-', r.state, day(r.created_at), day(r.expires_at), day(used.get(r.id8) ?? null), scopeText(r.scope)]),
    ];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    out(table.map((row) => `${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`).join(''));
    return 0;
  },
};

const revokeCmd: Command = {
  usage: 'token revoke ID\n\nexample:\n  sesame token revoke 1a2b3c4d',
  summary: 'revoke a token by its 8-hex id (a running agent is told at once)',
  flags: {},
  maxPositionals: 1,
  async run(ctx: Ctx, { positionals }) {
    const id = positionals[0];
    if (id === undefined) throw usage('token revoke needs an ID (8 hex digits, as `sesame token list` shows)');
    const { revokeToken, tokenFilePath } = await import('../../core/policy/tokens.js');
    let r: ReturnType<typeof revokeToken>;
    try {
      r = revokeToken(tokenFilePath(ctx.paths.home), id, Date.now());
    } catch (e) {
      if (e instanceof SesameError && e.code === 'INVALID') throw usage(e.message, 'see the ids with `sesame token list`');
      throw e;
    }
    if (!r.already) await (await import('../audit-event.js')).auditEvent(ctx, { event: 'token_revoke', outcome: 'ok', reason: `token:${r.record.id8}` });
    const reload = r.already ? null : await tellAgentToReload(ctx);
    if (ctx.json) outJson({ revoked: r.record.id8, already: r.already, agent_reloaded: reload !== null && reload.kind === 'signalled' });
    else if (r.already) info(`token ${r.record.id8} was already revoked`);
    else info(`revoked token ${r.record.id8}; ${reloadNote(reload, 'the revocation is')}`);
    return 0;
  },
};

const group: Group = {
  summary: 'capability tokens: scoped, expiring, revocable access for other programs',
  subcommands: { new: newCmd, list: listCmd, revoke: revokeCmd },
};

export default group;
