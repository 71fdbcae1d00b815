/**
 * The agent block of `agent status --json` and `status --json` (schema 1): is an agent
 * running for this home, can we use it, and what it says about itself. Never secret.
 *
 * `running`: the agent answered, or the pid in agent.pid is alive (an agent that denies
 * us or does not answer is still running). `accessible`: it answered our status request.
 * Uses the client path only (node:net, node:fs, one SO_PEERCRED through the native door):
 * no libsodium. A socket served by another uid is `error.code` INSECURE, never trusted.
 */
import { SesameError } from '../errors.js';
import { readRegularFile } from '../fs/secure.js';
import type { HomePaths } from '../paths.js';
import { connectAgent } from './client.js';

/** Bumped when a field of the agent block changes meaning or disappears. */
export const AGENT_STATUS_SCHEMA = 1;

export interface AgentReport {
  schema: number;
  running: boolean;
  accessible: boolean;
  pid: number | null;
  socket: string;
  idle_remaining_s: number | null;
  absolute_remaining_s: number | null;
  started_at: string | null;
  version: string | null;
  protocol: number | null;
  idle_s?: number;
  ttl_s?: number;
  /** The agent's process hardening (core/agent/doors.ts HardeningReport), fields checked. */
  hardening?: Record<string, number | boolean | null>;
  /** Why a running agent is not accessible. */
  error?: { code: string; message: string; hint?: string };
  /** `agent start --require-token` (true also when the agent refused us for want of a token). */
  require_token?: boolean;
  /** `agent start --session`: bound to the shell that started it. */
  session?: boolean;
  /** `agent start --writes`: the owner socket takes the owner's writes. */
  writes?: boolean;
  /** Every socket the agent serves (v2 status; a delegated caller sees only its own). */
  listeners?: Array<{ kind: string; name?: string; socket: string }>;
  /**
   * Last use of each token by 8-hex id (ISO time), from the agent's memory since it started;
   * shown to the owner only. `token list` reads it from here.
   */
  tokens_last_used?: Record<string, string>;
}

/** Never throws: every failure becomes `running`/`accessible`/`error` in the report. */
export async function probeAgent(paths: HomePaths, env: NodeJS.ProcessEnv): Promise<AgentReport> {
  const base: AgentReport = {
    schema: AGENT_STATUS_SCHEMA,
    running: false,
    accessible: false,
    pid: null,
    socket: paths.agentSock,
    idle_remaining_s: null,
    absolute_remaining_s: null,
    started_at: null,
    version: null,
    protocol: null,
  };
  let failure: SesameError | undefined;
  try {
    const client = await connectAgent(paths.agentSock, env);
    if (client) {
      try {
        const st = await client.status();
        return { ...base, ...pick(st), running: true, accessible: true };
      } finally {
        client.close();
      }
    }
  } catch (e) {
    failure = e instanceof SesameError ? e : new SesameError('UNAVAILABLE', 'the agent did not answer');
  }
  const pid = livePid(paths.agentPid);
  if (pid === null && !failure) return base;
  failure ??= new SesameError('UNAVAILABLE', `the agent (pid ${String(pid)}) is not answering on ${paths.agentSock}`, {
    hint: 'it may be starting or stopping; if it stays so, stop it with `kill` and start it again',
  });
  const needsToken = failure.code === 'DENIED' && failure.detail?.reason === 'token_required';
  return { ...base, running: pid !== null || failure.code === 'DENIED', pid, error: failure.toJSON(), ...(needsToken ? { require_token: true } : {}) };
}

function pick(st: Record<string, unknown>): Partial<AgentReport> {
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const out: Partial<AgentReport> = {
    pid: num(st.pid),
    idle_remaining_s: num(st.idle_remaining_s),
    absolute_remaining_s: num(st.absolute_remaining_s),
    started_at: typeof st.started_at === 'string' ? st.started_at : null,
    version: typeof st.version === 'string' ? st.version : null,
    protocol: num(st.protocol),
  };
  if (typeof st.socket === 'string') out.socket = st.socket;
  if (num(st.idle_s) !== null) out.idle_s = num(st.idle_s)!;
  if (num(st.ttl_s) !== null) out.ttl_s = num(st.ttl_s)!;
  const h = st.hardening;
  if (h && typeof h === 'object' && !Array.isArray(h)) {
    const keep: Record<string, number | boolean | null> = Object.create(null) as Record<string, number | boolean | null>;
    for (const k of ['dumpable', 'core_limit', 'key_mlocked', 'inspector_disabled', 'tracer_pid_at_start', 'ptrace_scope']) {
      const v = (h as Record<string, unknown>)[k];
      keep[k] = typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) ? v : null;
    }
    out.hardening = { ...keep };
  }
  if (typeof st.require_token === 'boolean') out.require_token = st.require_token;
  if (typeof st.session === 'boolean') out.session = st.session;
  if (typeof st.writes === 'boolean') out.writes = st.writes;
  if (Array.isArray(st.listeners)) {
    out.listeners = st.listeners.flatMap((l: unknown) => {
      if (typeof l !== 'object' || l === null) return [];
      const { kind, name, socket } = l as Record<string, unknown>;
      if (typeof kind !== 'string' || typeof socket !== 'string') return [];
      return [typeof name === 'string' ? { kind, name, socket } : { kind, socket }];
    });
  }
  const u = st.tokens_last_used;
  if (u && typeof u === 'object' && !Array.isArray(u)) {
    const keep: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [id8, at] of Object.entries(u)) if (/^[0-9a-f]{8}$/.test(id8) && typeof at === 'string' && !Number.isNaN(Date.parse(at))) keep[id8] = at;
    out.tokens_last_used = { ...keep };
  }
  return out;
}

/** The pid recorded in agent.pid if that process is alive. */
function livePid(pidFile: string): number | null {
  let pid: number;
  try {
    pid = Number(readRegularFile(pidFile, 'agent pid file', { maxBytes: 64, followSymlinks: false }).toString('latin1').trim()); // never a FIFO
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}
