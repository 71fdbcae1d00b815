/**
 * `agent start | status | stop` (docs/agent.md). The detached agent started by
 * `agent start --background` is not a command: it has its own entry, src/daemon/main.ts
 * (see agent-spawn.ts).
 */
import type { Command, Group } from '../command.js';
import type { Ctx } from '../context.js';
import type { Parsed } from '../args.js';
import type { SecureKey } from '../../core/crypto/sodium.js';
import type { SessionLimits } from '../../core/agent/session.js';
import type { HomePaths } from '../../core/paths.js';
import { parseDuration, usage } from '../args.js';
import { allocSecret } from '../../core/bytes.js';
import { SesameError } from '../../core/errors.js';
import type { AgentLock } from '../../core/agent/lockfile.js';
import { info, json, out } from '../output.js';
import { agentStatusBlock, agentStatusExit } from '../agent-status.js';
import { install, logs, restart, uninstall } from '../agent-install.js';

const LIMIT_FLAGS = {
  idle: { type: 'string', arg: 'DUR', help: 'stop after this long without a request (default 15m; 0 = never)' },
  ttl: { type: 'string', arg: 'DUR', help: 'stop this long after start, whatever the activity (default 8h)' },
  'evict-after': { type: 'string', arg: 'DUR', help: 'wipe a project key unused this long (default 60s; 0 = keep); the master key stays until --idle/--ttl' },
} as const;

function limitsFrom(flags: Parsed['flags']): SessionLimits {
  const idleMs = parseDuration(typeof flags.idle === 'string' ? flags.idle : '15m', 'idle');
  const ttlMs = parseDuration(typeof flags.ttl === 'string' ? flags.ttl : '8h', 'ttl');
  if (ttlMs <= 0) throw usage('--ttl must be longer than 0', 'the agent always has an absolute lifetime, e.g. --ttl 8h');
  const evictAfterMs = parseDuration(typeof flags['evict-after'] === 'string' ? flags['evict-after'] : '60s', 'evict-after');
  return { idleMs, ttlMs, evictAfterMs };
}

/** The passphrase chain, then Argon2id; returns a copy of the master key in guarded memory. */
async function unlockMaster(ctx: Ctx): Promise<SecureKey> {
  const { unlockDirect } = await import('../direct-unlock.js');
  const v = await unlockDirect(ctx);
  try {
    return v.master.clone();
  } finally {
    v.dispose();
  }
}

const ALLOW_DEBUGGER = { 'allow-debugger': { type: 'boolean', help: 'start even when a tracer (debugger, strace) is attached' } } as const;
const REQUIRE_TOKEN = {
  'require-token': { type: 'boolean', help: 'the owner socket requires a token too (SESAME_AGENT_TOKEN; see sesame token new)' },
  session: { type: 'boolean', help: 'start in the background bound to this shell: prints SESAME_AGENT_SOCK and a fresh SESAME_AGENT_TOKEN for eval; other processes are denied' },
  cells: { type: 'boolean', help: 'also serve cells.sock: sandboxes that register themselves on first resolve (scope from cells.toml)' },
} as const;

/** `NAME=value; export NAME;` lines for eval, the token kept off-heap; the caller wipes the result. */
function sessionAssignments(sock: string, token: Buffer): Buffer {
  const q = `'${sock.replace(/'/g, `'\\''`)}'`;
  const parts = [Buffer.from(`SESAME_AGENT_SOCK=${q}; export SESAME_AGENT_SOCK;\nSESAME_AGENT_TOKEN=`), token, Buffer.from('; export SESAME_AGENT_TOKEN;\n')];
  const all = allocSecret(parts.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of parts) o += b.copy(all, o);
  return all;
}

/**
 * Drops SESAME_PASSPHRASE once the chain has read it: unset, and its bytes in the initial
 * environment block zeroed, so /proc/PID/environ of a long-lived agent no longer shows it.
 */
async function forgetEnvPassphrase(ctx: Ctx): Promise<void> {
  if (process.env.SESAME_PASSPHRASE === undefined && ctx.env.SESAME_PASSPHRASE === undefined) return;
  const { scrubEnv } = await import('../../core/os/native.js');
  scrubEnv('SESAME_PASSPHRASE');
  delete process.env.SESAME_PASSPHRASE;
  delete ctx.env.SESAME_PASSPHRASE;
}

/** Stops the running agent (`--replace`) and takes its lock once it has let go (up to 5 s). */
async function replaceAgent(ctx: Ctx, take: (p: string) => AgentLock): Promise<AgentLock> {
  const { stopHomeAgent } = await import('../agent-stop.js');
  await stopHomeAgent(ctx);
  for (const deadline = Date.now() + 5000; ;) {
    try {
      return take(ctx.paths.agentLock);
    } catch (e) {
      if (!(e instanceof SesameError && e.remedy === 'agent_running') || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const start: Command = {
  usage:
    'agent start [--idle DUR] [--ttl DUR] [--evict-after DUR] [--background] [--replace] [--allow-debugger] [--require-token] [--session] [--writes] [--cells]\n\nexamples:\n  sesame agent start --background --idle 30m --ttl 8h\n  eval "$(sesame agent start --session)"',
  summary: 'unlock once, then serve reads over a private socket (foreground; Ctrl-C stops it)',
  flags: {
    ...LIMIT_FLAGS,
    ...ALLOW_DEBUGGER,
    ...REQUIRE_TOKEN,
    background: { type: 'boolean', help: 'return once a detached agent answers' },
    writes: { type: 'boolean', help: "also serve the owner's writes (set, rm, mv…) without the passphrase; owner socket only, never with a token" },
    replace: { type: 'boolean', help: 'stop an agent already running for this home and start this one (without it, a running agent is left alone: exit 0)' },
  },
  async run(ctx, { flags }) {
    await import('../early.js'); // SIGUSR1 ignored (already, through the executable; here for the ES-module entry)
    const limits = limitsFrom(flags);
    const session = flags.session === true;
    if (session && ctx.json) throw usage('--session prints shell assignments, not JSON', 'use eval "$(sesame agent start --session)"');
    // Before any passphrase is read or derived: no debugger option, hardening that took
    // effect (fail closed), no tracer attached.
    const { agentPreflight } = await import('../../core/agent/doors.js');
    const allowDebugger = flags['allow-debugger'] === true;
    const requireToken = flags['require-token'] === true;
    const writes = flags.writes === true;
    if (writes && (requireToken || session)) throw usage('--writes cannot be combined with --require-token or --session', 'writes are never accepted with a token: start a separate agent for them');
    const cells = flags.cells === true;
    const hardening = agentPreflight({ execArgv: process.execArgv, env: process.env, allowDebugger });
    const { readVault } = await import('../../core/vault/store.js');
    readVault(ctx.paths); // NOT_INITIALIZED before taking a lock or prompting
    const { takeAgentLock } = await import('../../core/agent/lockfile.js');
    let lock: AgentLock;
    try {
      lock = takeAgentLock(ctx.paths.agentLock);
    } catch (e) {
      if (!(e instanceof SesameError && e.remedy === 'agent_running') || (session && flags.replace !== true)) throw e;
      if (flags.replace !== true) {
        // Idempotent: an agent already serves this home, which is what was asked for.
        const pid = typeof e.detail?.pid === 'number' ? e.detail.pid : null;
        if (ctx.json) json({ started: false, running: true, pid });
        else info(`the agent is already running${pid !== null ? ` (pid ${pid})` : ''}; nothing to do (\`sesame agent start --replace\` restarts it)`);
        return 0;
      }
      lock = await replaceAgent(ctx, takeAgentLock);
    }
    let master: SecureKey;
    try {
      const { prepareSocketPath } = await import('../../core/agent/socket.js');
      await prepareSocketPath(ctx.paths.agentSock, ctx.paths.runtimeDir ? { runtimeDir: ctx.paths.runtimeDir } : {});
      master = await unlockMaster(ctx);
    } catch (e) {
      lock.release(true);
      throw e;
    } finally {
      await forgetEnvPassphrase(ctx);
    }
    if (session) {
      const { startBackground } = await import('../agent-spawn.js');
      const { newSessionToken } = await import('../../core/policy/tokens.js');
      const t = newSessionToken();
      let line: Buffer | undefined;
      try {
        const code = await startBackground(ctx, master, lock, limits, { allowDebugger, requireToken, cells, sessionDigest: t.digest });
        if (code === 0) {
          line = sessionAssignments(ctx.paths.agentSock, t.token);
          out(line);
        }
        return code;
      } finally {
        line?.fill(0);
        t.token.fill(0);
      }
    }
    if (flags.background) {
      const { startBackground } = await import('../agent-spawn.js');
      return startBackground(ctx, master, lock, limits, { allowDebugger, requireToken, writes, cells });
    }
    const { serveHere } = await import('../agent-serve.js');
    return serveHere(ctx.paths, master, lock, limits, { foreground: true, hardening, requireToken, env: ctx.env, writes, cells });
  },
};

const status: Command = {
  usage: 'agent status [--json]\n\nexample:\n  sesame agent status --json',
  summary: 'whether an agent runs for this home, and its deadlines (exit 0 running, 3 not running); asking does not reset its idle timer',
  flags: {},
  async run(ctx) {
    const b = await agentStatusBlock(ctx);
    if (ctx.json) json(b);
    else out(human(b, ctx.paths));
    return agentStatusExit(b);
  },
};

/** Where the socket is, and why when it is not in the home (paths.ts `placeSocket`). */
function socketLine(b: Record<string, unknown>, paths: HomePaths): string {
  const moved = paths.runtimeDir !== undefined && b.socket === paths.agentSock;
  return `${String(b.socket)}${moved ? ` (in $XDG_RUNTIME_DIR: ${paths.home}/agent.sock would be too long for a Unix socket)` : ''}`;
}

/** The v2 status's `listeners` ([{kind, name?, socket}]), one line each; none for a v1 agent. */
function listenerLines(b: Record<string, unknown>): string[] {
  if (!Array.isArray(b.listeners)) return [];
  return (b.listeners as unknown[]).flatMap((l) => {
    if (typeof l !== 'object' || l === null) return [];
    const { kind, name, socket } = l as Record<string, unknown>;
    if (typeof kind !== 'string' || typeof socket !== 'string') return [];
    const clean = (v: string): string => v.replace(/\p{Cc}/gu, '?');
    return [`listener:  ${clean(kind)}${typeof name === 'string' ? ` ${clean(name)}` : ''} ${clean(socket)}`];
  });
}

function human(b: Record<string, unknown>, paths: HomePaths): string {
  const secs = (v: unknown): string => (typeof v === 'number' ? fmtSecs(v) : 'off');
  if (!b.running) return `agent:     not running (socket ${socketLine(b, paths)})\n`;
  const lines = [
    `agent:     running (pid ${String(b.pid)})${b.accessible ? '' : `, not accessible: ${String((b.error as { message?: string } | undefined)?.message)}`}`,
    `socket:    ${socketLine(b, paths)}`,
    ...listenerLines(b),
    ...(typeof b.require_token === 'boolean' ? [`token:     ${b.require_token ? 'required on the owner socket (SESAME_AGENT_TOKEN)' : 'not required on the owner socket'}`] : []),
    ...(typeof b.writes === 'boolean' ? [`writes:    ${b.writes ? "on (the owner's set, rm, mv… need no passphrase)" : 'off (read-only)'}`] : []),
    ...(b.session === true ? ['session:   bound to the shell that started it (eval "$(sesame agent start --session)"); sesame lock there ends it'] : []),
  ];
  if (b.accessible) {
    lines.push(
      `project:   ${String(b.project)}`,
      `started:   ${String(b.started_at)}`,
      `idle:      ${b.idle_remaining_s === null ? 'never expires' : `${secs(b.idle_remaining_s)} left`}`,
      `ttl:       ${secs(b.absolute_remaining_s)} left`,
      `version:   sesame ${String(b.version)}, protocol ${String(b.protocol)}`,
    );
    const h = b.hardening as Record<string, unknown> | undefined;
    if (h)
      lines.push(
        `hardening: dumpable ${String(h.dumpable)}, core limit ${String(h.core_limit)}, key mlocked ${h.key_mlocked ? 'yes' : 'no'}, inspector ${h.inspector_disabled ? 'disabled' : 'NOT disabled'}, tracer at start ${String(h.tracer_pid_at_start)}, ptrace_scope ${String(h.ptrace_scope)}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

function fmtSecs(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = Math.floor(s % 60);
  return h ? `${h}h ${m}m` : m ? `${m}m ${r}s` : `${r}s`;
}

const stop: Command = {
  usage: 'agent stop\n\nexample:\n  sesame agent stop',
  summary: 'stop the agent: it wipes the key and removes its socket',
  flags: {},
  async run(ctx) {
    const { stopHomeAgent } = await import('../agent-stop.js');
    if (!(await stopHomeAgent(ctx))) {
      if (ctx.json) json({ stopped: false, running: false });
      else info('no agent is running');
      return 0;
    }
    if (ctx.json) json({ stopped: true, running: false });
    else info('sesame agent stopped');
    return 0;
  },
};

const subcommands: Record<string, Command> = { start, status, stop, install, uninstall, restart, logs };

const group: Group = { summary: 'the unlock agent', subcommands };
export default group;
