/**
 * `exec`: runs a program with the secrets in scope in its environment and streams its masked
 * output (docs/spec/agent-protocol.md, "exec"). Steps:
 *   1. argv[0] resolved by the agent (exec/resolve.ts: fixed PATH, realpath, the profile's
 *      pinned `commands`); a refusal goes through the door (`refuseExec`: authorize first, so
 *      a project out of view still reads as nonexistent; audited).
 *   2. the values through the plaintext door (`readForExec`: authorize → approval → audit
 *      `exec` with the real path and argv hash → decrypt).
 *   3. the environment (exec/env.ts) in Buffers, the spawn (exec/child.ts), the env wiped at once.
 *   4. chunks as they come, then one `exit` frame with `masked` (and `too_short` when a value
 *      was too short to mask); an `exec_exit` audit record with the masked counts.
 * Cancelled (disconnect, shutdown): the process group is killed and no final frame is sent.
 * The values stay in the agent (for masking) until the exec ends, then are wiped.
 */
import * as fs from 'node:fs';
import { SesameError } from '../../errors.js';
import { argvHash } from '../../audit/record.js';
import type { Profile } from '../../policy/profiles.js';
import type { ExecArgs } from '../protocol-v2.js';
import { chunkFrame, exitFrame } from '../protocol-v2.js';
import { ExecChild, DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S } from '../exec/child.js';
import { execEnv } from '../exec/env.js';
import { decideProgram, programError } from '../exec/resolve.js';
import type { OpContext, Reply } from './context.js';

/** Running execs started through each profile socket, by profile name. */
const byProfile = new Map<string, Set<ExecChild>>();

/**
 * Kills the process group of every exec started through profile `name` (its `ttl` ran out,
 * or a reload removed it): a profile's end ends what it runs. Never throws.
 */
export function killProfileExecs(name: string): void {
  for (const c of byProfile.get(name) ?? []) c.kill();
}

/** The profile of a caller on a profile socket; undefined for the owner. */
export function profileOfCaller(ctx: OpContext): Profile | undefined {
  const l = ctx.access.caller.listener;
  if (l.kind !== 'profile' || l.name === undefined) return undefined;
  return ctx.access.policy.profiles.get(l.name) as Profile | undefined;
}

/** Runs one exec; resolves with its final frame (an `exit`, or an error when it never started). */
export async function exec(ctx: OpContext, req: ExecArgs): Promise<Reply> {
  const stream = ctx.stream;
  const door = ctx.door;
  if (!stream || !door.readForExec || !door.refuseExec || !door.execEnded) throw new SesameError('UNAVAILABLE', 'this agent does not run commands', { detail: { reason: 'unsupported' } });
  const l = ctx.access.caller.listener;
  if (l.kind === 'profile' && !profileOfCaller(ctx)) throw new SesameError('DENIED', 'denied: this socket has no policy in force', { detail: { reason: 'listener' } });
  const hash = argvHash(req.argv);
  const name = req.argv[0]!;
  const decided = decideProgram(name, profileOfCaller(ctx));
  if ('error' in decided) return door.refuseExec(ctx.access, ctx.src, req.project, { argvHash: hash, reason: decided.error }, programError(name, decided.error));
  const cwd = req.cwd ?? '/';
  if (!isDir(cwd)) {
    return door.refuseExec(
      ctx.access,
      ctx.src,
      req.project,
      { command: decided.real, argvHash: hash, reason: 'bad_cwd' },
      new SesameError('NOT_FOUND', `no such directory: ${JSON.stringify(cwd.slice(0, 256))}`, { hint: 'cwd must be a directory the agent can enter', detail: { reason: 'bad_cwd' } }),
    );
  }
  const sel = { ...(req.only ? { only: req.only } : {}), ...(req.prefix !== undefined ? { prefix: req.prefix } : {}) };
  const run = { command: decided.real, argvHash: hash };
  const { secrets } = await door.readForExec(ctx.access, ctx.src, req.project, sel, run);
  let child: ExecChild;
  try {
    ctx.access.signal.throwIfAborted();
    const env = execEnv(ctx.env ?? {}, profileOfCaller(ctx)?.env, secrets, req.pty ? 'xterm-256color' : undefined);
    const timeoutS = Math.min(req.timeout_s ?? DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S);
    try {
      child = new ExecChild(
        {
          path: decided.real,
          argv: req.argv,
          env,
          cwd,
          stdin: req.stdin === true,
          ...(req.pty ? { pty: req.pty } : {}),
          needles: secrets.map(([k, v]) => ({ name: k, value: v })),
          timeoutMs: timeoutS * 1000,
        },
        {
          write: (s, data) => {
            if (!ctx.access.signal.aborted && data.length) stream.emit(chunkFrame(stream.id, s, data), true);
            data.fill(0);
          },
          blocked: () => stream.blocked(),
          onRoom: (fn) => {
            stream.onRoom(fn);
          },
        },
      );
    } finally {
      for (const e of env) e.fill(0);
    }
  } catch (e) {
    for (const [, v] of secrets) v.fill(0);
    throw e;
  }
  stream.control(child);
  const onAbort = (): void => {
    child.kill();
  };
  ctx.access.signal.addEventListener('abort', onAbort, { once: true });
  const profile = l.kind === 'profile' ? l.name : undefined;
  if (profile !== undefined) {
    let set = byProfile.get(profile);
    if (!set) byProfile.set(profile, (set = new Set()));
    set.add(child);
  }
  try {
    const r = await child.done;
    const keys = secrets.map(([k]) => k);
    door.execEnded(ctx.access, req.project, { ...run, keys }, { exit: r.signal !== undefined ? `signal:${r.signal.toLowerCase()}` : `exit:${r.code ?? 0}`, masked: r.masked });
    const fields: Record<string, unknown> = r.signal !== undefined ? { signal: r.signal } : { code: r.code };
    fields.masked = r.masked;
    if (r.tooShort.length) fields.too_short = r.tooShort;
    if (r.timedOut) fields.timed_out = true;
    return { line: exitFrame(stream.id, fields), secret: false };
  } finally {
    ctx.access.signal.removeEventListener('abort', onAbort);
    if (profile !== undefined) {
      byProfile.get(profile)?.delete(child);
      if (!byProfile.get(profile)?.size) byProfile.delete(profile);
    }
    for (const [, v] of secrets) v.fill(0);
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
