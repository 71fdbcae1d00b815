/**
 * The detached agent's own entry (built as dist/sesame-agent.cjs), started only by
 * `agent start --background` (src/cli/agent-spawn.ts), never by a user:
 *
 *   node [flags] sesame-agent.cjs --home DIR --idle-ms N --ttl-ms N [--evict-after-ms N] --handoff PATH [--allow-debugger]
 *
 * Order, each step before the next:
 * 1. SIGUSR1 ignored (cli/early.ts, the first import: esbuild places its code first), so no
 *    signal can open Node's inspector at any point of this process's life;
 * 2. argv parsed strictly (anything unexpected: refuse, report, exit 1);
 * 3. hardened (core/agent/doors.ts agentPreflight: not dumpable, no core file, no debugger
 *    option, no tracer), so no fd that will carry the key exists before that took effect;
 * 4. the key received from the hand-off socket, checked to be held by our parent
 *    (core/agent/handoff.ts); the inherited agent lock adopted (fd 4);
 * 5. serve (cli/agent-serve.ts): signals go through the one shutdown, SIGHUP reloads the
 *    policy; the ready report (or the error that stopped the start) is one line on fd 3.
 *
 * Its environment is the starting CLI's minus the passphrase variables (agent-spawn.ts); the
 * socket placement (paths.ts `placeSocket`) reads the same XDG_RUNTIME_DIR/SESAME_AGENT_SOCK,
 * so the agent binds where the CLI will look.
 */
import '../cli/early.js'; // first: SIGUSR1 must never open the inspector
import * as fs from 'node:fs';
import { SesameError } from '../core/errors.js';
import { parseDaemonArgs } from './args.js';

/** The fds the detached agent inherits (agent-spawn.ts CHILD_FD). */
const FD = { ready: 3, lock: 4 } as const;

/** One line to the parent on fd 3, then closed. Never throws (the parent may be gone). */
function report(o: unknown): void {
  try {
    fs.writeSync(FD.ready, `${JSON.stringify(o)}\n`);
    fs.closeSync(FD.ready);
  } catch {
    /* the parent is gone */
  }
}

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  try {
    const a = parseDaemonArgs(argv);
    // Hardened first: no fd that will carry the key exists before this has taken effect.
    const { agentPreflight } = await import('../core/agent/doors.js');
    const hardening = agentPreflight({ execArgv: process.execArgv, env, allowDebugger: a.allowDebugger });
    const { homePaths } = await import('../core/paths.js');
    const paths = homePaths(a.home, env);
    const { receiveKey } = await import('../core/agent/handoff.js');
    const master = receiveKey(a.handoff, process.ppid);
    const { adoptAgentLock } = await import('../core/agent/lockfile.js');
    let lock;
    try {
      lock = adoptAgentLock(FD.lock, paths.agentLock);
    } catch (e) {
      master.dispose();
      throw e;
    }
    const { serveHere } = await import('../cli/agent-serve.js');
    return await serveHere(
      paths,
      master,
      lock,
      { idleMs: a.idleMs, ttlMs: a.ttlMs, ...(a.evictAfterMs !== undefined ? { evictAfterMs: a.evictAfterMs } : {}) },
      {
        foreground: false,
        hardening,
        requireToken: a.requireToken === true,
        writes: a.writes === true,
        ...(a.cells ? { cells: true } : {}),
        ...(a.sessionDigest !== undefined ? { sessionDigest: a.sessionDigest } : {}),
        env,
        ready: (h) => {
          report({ ok: true, pid: h.pid });
        },
      },
    );
  } catch (e) {
    await import('../cli/output.js'); // installs the renderer that turns an error's remedy into its hint
    report({ ok: false, error: e instanceof SesameError ? e.toJSON() : { code: 'ERROR', message: 'the agent failed to start' } });
    return 1;
  }
}

// stdio is /dev/null (agent-spawn.ts): nothing here can reach a terminal. From serveHere on,
// an uncaught exception or rejection goes through the agent's shutdown (wipe, unlink).
void main(process.argv.slice(2), process.env).then((code) => {
  process.exitCode = code;
});
