/**
 * `sesame approve`: the owner's side of approvals (docs/approvals.md).
 *
 *   sesame approve                         list the requests waiting (and who asks)
 *   sesame approve ID [--once | --for DUR | --session | --deny]
 *   sesame approve --watch                 stay open; prompt for each new request
 *   sesame approve --list-grants | --revoke GRANT
 *   sesame approve pin set | pin clear
 *
 * Approving needs a proof the AGENT checks (core/approval/proof.ts): the vault passphrase
 * typed at /dev/tty — never stdin, argv or the environment; this command never runs the
 * passphrase chain — from which this process derives the master key and answers the
 * agent's challenge; or the approval PIN, checked by the agent against its sealed hash.
 * Everything goes to the owner socket; the agent refuses it with a token or on any other
 * socket. Output holds names, ids and process facts: never a value.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { SesameError } from '../../core/errors.js';
import type { AgentClient } from '../../core/agent/client.js';
import type { Reply } from '../../core/agent/reply-check.js';
import type { CallerView, GrantView, PendingView } from '../../core/approval/broker.js';
import { parseDuration, usage } from '../args.js';
import type { Command } from '../command.js';
import type { Ctx } from '../context.js';
import { info, json as outJson, out } from '../output.js';

type Mode = 'once' | 'for' | 'session';

/** Connects to the owner socket; UNAVAILABLE when no agent answers. */
async function connect(ctx: Ctx): Promise<AgentClient> {
  const { connectAgent } = await import('../../core/agent/client.js');
  const c = await connectAgent(ctx.paths.agentSock, ctx.env);
  if (!c) throw new SesameError('UNAVAILABLE', 'no agent is running: there is nothing to approve', { remedy: 'agent_start' });
  return c;
}

/** One request on a fresh connection (so a long prompt never meets the connection's idle deadline). */
async function call<T>(ctx: Ctx, fields: Record<string, unknown>, check: (r: Reply) => T = (r) => r as T): Promise<T> {
  const c = await connect(ctx);
  try {
    return await c.request(fields, check, { timeoutMs: 30_000 });
  } finally {
    c.close();
  }
}

/** The waiting requests and live grants, shape-checked (they come from another process). */
async function fetchState(ctx: Ctx): Promise<{ pending: PendingView[]; grants: GrantView[] }> {
  return call(ctx, { op: 'approvals' }, (r) => {
    if (!Array.isArray(r.pending) || !Array.isArray(r.grants)) throw new SesameError('PROTOCOL', 'the agent sent a malformed approvals list');
    return { pending: r.pending as PendingView[], grants: r.grants as GrantView[] };
  });
}

const safe = (s: unknown): string => (typeof s === 'string' ? s.replace(/[^\x20-\x7e]/g, '?') : typeof s === 'number' ? String(s) : '-');

function who(c: CallerView): string {
  const l = c.listener.name === undefined ? `${safe(c.listener.kind)} socket` : `${safe(c.listener.kind)} ${safe(c.listener.name)}`;
  return `pid ${c.pid ?? '?'} (started ${c.start_time ?? '?'}) ${safe(c.exe ?? '?')} via ${l}${c.token ? `, token ${safe(c.token)}` : ''}${c.cell ? `, cell ${safe(c.cell)}` : ''}`;
}

function describe(p: PendingView): string {
  const chain = p.caller.chain.map((l) => `${l.pid} ${safe(l.comm ?? '?')}${l.exe ? ` (${safe(l.exe)})` : ''}`).join(' <- ');
  return [
    `request ${safe(p.id)}: ${safe(p.op)} ${safe(p.project ?? '-')} ${p.keys.map(safe).join(' ')}   since ${safe(p.since)}, expires in ${p.expires_in_s}s`,
    ...(p.command ? [`  runs:  ${safe(p.command)} (argv sha256 ${safe(p.argv_hash ?? '?')})`] : []),
    `  who:   ${who(p.caller)}`,
    ...(chain ? [`  chain: ${chain}`] : []),
  ].join('\n');
}

function describeGrant(g: GrantView): string {
  const l = g.listener.name === undefined ? `${safe(g.listener.kind)} socket` : `${safe(g.listener.kind)} ${safe(g.listener.name)}`;
  return `grant ${safe(g.id)}: ${safe(g.op)} ${safe(g.project ?? '-')} ${g.keys.map(safe).join(' ')}${g.command ? ` (runs ${safe(g.command)})` : ''}   ${g.mode === 'session' ? 'until the agent stops' : `until ${safe(g.expires_at)}`}\n  for:   ${safe(g.exe ?? '?')} via ${l}${g.token ? `, token ${safe(g.token)}` : ''}${g.cell ? `, cell ${safe(g.cell)}` : ''}`;
}

/** Refuses before any prompt when there is no terminal: the proof is typed at /dev/tty, never read from stdin or the environment. */
async function requireTty(): Promise<void> {
  const { hasTty } = await import('../prompt.js');
  if (!hasTty()) {
    throw new SesameError('DENIED', 'refused: approving needs the vault passphrase or the approval PIN typed at a terminal (/dev/tty)', {
      hint: 'run `sesame approve` in your own terminal; stdin, arguments and SESAME_PASSPHRASE are never read for an approval',
      detail: { reason: 'approval_needs_tty' },
    });
  }
}

/** Proves and sends the approval of `id`. */
async function approveOne(ctx: Ctx, id: string, mode: Mode, forS: number | undefined, how: 'pin' | 'passphrase' | 'auto'): Promise<Record<string, unknown>> {
  await requireTty();
  const { pinFileExists } = await import('../../core/approval/proof.js');
  const usePin = how === 'pin' || (how === 'auto' && pinFileExists(ctx.paths.home));
  const { readTtyLine } = await import('../prompt.js');
  const decision = { op: 'approve', approval_id: id, mode, ...(forS !== undefined ? { for_s: forS } : {}) };
  const ok = (r: Reply): Record<string, unknown> => r;
  if (usePin) {
    const pin = await readTtyLine(`Approval PIN (to approve ${id}): `, false);
    try {
      // A JSON request is a string: the PIN lives on this short-lived process's heap until it exits (docs/threat-model.md).
      return await call(ctx, { ...decision, pin: pin.toString('latin1') }, ok);
    } finally {
      pin.fill(0);
    }
  }
  const pass = await readTtyLine(`Vault passphrase (to approve ${id}): `, false);
  let master;
  try {
    const { unlockVault } = await import('../../core/vault/store.js');
    const v = unlockVault(ctx.paths, pass);
    master = v.master.clone();
    v.dispose();
  } finally {
    pass.fill(0);
  }
  try {
    const { makeProof } = await import('../../core/approval/proof.js');
    const nonce = await call(ctx, { op: 'challenge' }, (r) => {
      if (typeof r.nonce !== 'string' || !/^[0-9a-f]{64}$/.test(r.nonce)) throw new SesameError('PROTOCOL', 'the agent sent a malformed challenge');
      return r.nonce;
    });
    const proof = makeProof(master, nonce, { approvalId: id, mode, ...(forS !== undefined ? { forS } : {}) });
    return await call(ctx, { ...decision, nonce, proof }, ok);
  } finally {
    master.dispose();
  }
}

function report(ctx: Ctx, r: Record<string, unknown>, id: string, mode: Mode): void {
  if (ctx.json) {
    outJson(r);
    return;
  }
  const until = typeof r.expires_at === 'string' ? ` until ${safe(r.expires_at)}` : mode === 'session' ? ' until the agent stops' : '';
  info(`approved ${id} ${mode === 'once' ? 'once' : `(grant ${safe(r.grant)}${until})`}${r.capped ? '; the duration was capped at approval_max' : ''}`);
}

/** notify-send on PATH, if any (the desktop notifier used by --watch). */
export function findNotifier(env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, 'notify-send');
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

function notify(bin: string, p: PendingView): void {
  try {
    const c = spawn(bin, ['--app-name=sesame', 'sesame: approval requested', `${safe(p.op)} ${p.keys.map(safe).join(' ')} for ${safe(p.caller.exe ?? '?')} (request ${safe(p.id)})`], {
      stdio: 'ignore',
      detached: true,
    });
    c.on('error', () => {});
    c.unref();
  } catch {
    /* a notification is a courtesy */
  }
}

async function watch(ctx: Ctx, how: 'pin' | 'passphrase' | 'auto'): Promise<number> {
  await requireTty();
  const { readTtyLine } = await import('../prompt.js');
  const notifier = findNotifier(ctx.env);
  info(notifier ? `sesame approve: watching; desktop notifications through ${notifier}` : 'sesame approve: watching; no desktop notifier (notify-send) found, prompting on this terminal only');
  info('Ctrl-C stops watching');
  const seen = new Set<string>();
  for (;;) {
    let state;
    try {
      state = await fetchState(ctx);
    } catch (e) {
      if (e instanceof SesameError && e.code === 'UNAVAILABLE') {
        info('sesame approve: the agent stopped; done watching');
        return 0;
      }
      throw e;
    }
    const fresh = state.pending.filter((p) => !seen.has(p.id));
    for (const p of fresh) {
      seen.add(p.id);
      info(describe(p));
      if (notifier) notify(notifier, p);
      const ans = (await readTtyLine(`approve ${p.id}? [o]nce, [f]or DUR, [s]ession, [d]eny, Enter to skip: `, true)).toString('utf8').trim().toLowerCase();
      try {
        if (ans === 'd' || ans === 'deny') {
          await call(ctx, { op: 'deny', approval_id: p.id });
          info(`denied ${p.id}`);
        } else if (ans === 'o' || ans === 'once' || ans === 's' || ans === 'session') {
          const mode: Mode = ans.startsWith('o') ? 'once' : 'session';
          report(ctx, await approveOne(ctx, p.id, mode, undefined, how), p.id, mode);
        } else if (ans.startsWith('f')) {
          const dur = (await readTtyLine('for how long (e.g. 10m, 2h): ', true)).toString('utf8').trim();
          const forS = Math.ceil(parseDuration(dur, 'for') / 1000);
          report(ctx, await approveOne(ctx, p.id, 'for', forS, how), p.id, 'for');
        } else info(`skipped ${p.id}`);
      } catch (e) {
        if (!(e instanceof SesameError)) throw e;
        info(`sesame approve: ${e.message}`);
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function pin(ctx: Ctx, what: string | undefined): Promise<number> {
  const { clearPinFile, writePinFile } = await import('../../core/approval/proof.js');
  if (what === 'clear') {
    info(clearPinFile(ctx.paths.home) ? 'approval PIN cleared: approvals now need the vault passphrase' : 'no approval PIN was set');
    return 0;
  }
  if (what !== 'set') throw usage('approve pin needs set or clear');
  await requireTty();
  const { readTtyLine, promptNewSecret } = await import('../prompt.js');
  const pass = await readTtyLine('Vault passphrase (to set the approval PIN): ', false);
  let v;
  try {
    const { unlockVault } = await import('../../core/vault/store.js');
    v = unlockVault(ctx.paths, pass);
  } finally {
    pass.fill(0);
  }
  try {
    const p = await promptNewSecret('New approval PIN: ', 'Again: ');
    try {
      if (p.length < 4 || p.length > 64 || ![...p].every((c) => c >= 0x21 && c <= 0x7e))
        throw new SesameError('INVALID', 'an approval PIN is 4 to 64 printable characters without spaces; nothing was changed');
      writePinFile(ctx.paths.home, v.master, p);
    } finally {
      p.fill(0);
    }
  } finally {
    v.dispose();
  }
  info('approval PIN set: `sesame approve ID` now asks for it instead of the vault passphrase (--passphrase to use the passphrase)');
  return 0;
}

const cmd: Command = {
  usage:
    'approve [ID [--once | --for DUR | --session | --deny]] [--watch] [--list-grants] [--revoke GRANT] [--pin | --passphrase]\n       sesame approve pin set | pin clear\n\nexamples:\n  sesame approve\n  sesame approve 3f2a9c01 --for 15m\n  sesame approve --watch',
  summary: "list and decide on delegated reads of high-value secrets waiting for the owner's approval",
  flags: {
    once: { type: 'boolean', help: 'release this one request only (the default)' },
    for: { type: 'string', arg: 'DUR', help: "also release this caller's later reads of these keys for DUR (capped by approval_max, default 8h)" },
    session: { type: 'boolean', help: "also release this caller's later reads of these keys until the agent stops" },
    deny: { type: 'boolean', help: 'refuse the request (no passphrase needed)' },
    watch: { type: 'boolean', help: 'stay open on this terminal and prompt for each new request (desktop notification through notify-send when present)' },
    'list-grants': { type: 'boolean', help: 'list the live grants' },
    revoke: { type: 'string', arg: 'GRANT', help: 'revoke a grant' },
    pin: { type: 'boolean', help: 'prove with the approval PIN (the default once one is set)' },
    passphrase: { type: 'boolean', help: 'prove with the vault passphrase even when a PIN is set' },
  },
  maxPositionals: 2,
  async run(ctx, { positionals, flags }) {
    const how = flags.pin ? 'pin' : flags.passphrase ? 'passphrase' : 'auto';
    if (flags.pin && flags.passphrase) throw usage('--pin and --passphrase contradict each other');
    const [first, second] = positionals;
    if (first === 'pin') return pin(ctx, second);
    if (second !== undefined) throw usage('approve takes one request ID');
    if (flags.watch) return watch(ctx, how);
    if (typeof flags.revoke === 'string') {
      if (!/^[0-9a-f]{8}$/.test(flags.revoke)) throw usage('a grant id is 8 hex digits (see sesame approve --list-grants)');
      await call(ctx, { op: 'grant_revoke', grant: flags.revoke });
      if (ctx.json) outJson({ revoked: flags.revoke });
      else info(`revoked grant ${flags.revoke}`);
      return 0;
    }
    if (first === undefined) {
      const st = await fetchState(ctx);
      if (ctx.json) {
        outJson(flags['list-grants'] ? { grants: st.grants } : { pending: st.pending, grants: st.grants });
        return 0;
      }
      if (flags['list-grants']) out(st.grants.length ? `${st.grants.map(describeGrant).join('\n')}\n` : '');
      else if (!st.pending.length) info('no request is waiting for approval');
      else out(`${st.pending.map(describe).join('\n')}\n`);
      return 0;
    }
    if (!/^[0-9a-f]{8}$/.test(first)) throw usage('a request ID is 8 hex digits (see sesame approve)');
    const modes = [flags.once, typeof flags.for === 'string', flags.session, flags.deny].filter(Boolean).length;
    if (modes > 1) throw usage('choose one of --once, --for DUR, --session, --deny');
    if (flags.deny) {
      await call(ctx, { op: 'deny', approval_id: first });
      if (ctx.json) outJson({ denied: first });
      else info(`denied ${first}`);
      return 0;
    }
    const mode: Mode = typeof flags.for === 'string' ? 'for' : flags.session ? 'session' : 'once';
    const forS = typeof flags.for === 'string' ? Math.ceil(parseDuration(flags.for, 'for') / 1000) : undefined;
    if (forS !== undefined && forS < 1) throw usage('--for needs a duration of at least 1s');
    // Show what is being approved before asking for the proof (and fail early on an unknown id).
    const st = await fetchState(ctx);
    const p = st.pending.find((x) => x.id === first);
    if (!p) throw new SesameError('NOT_FOUND', `no approval request ${first} is waiting`, { hint: 'run `sesame approve` to list the waiting requests; it may have expired' });
    if (!ctx.json) info(describe(p));
    report(ctx, await approveOne(ctx, first, mode, forS, how), first, mode);
    return 0;
  },
};
export default cmd;
