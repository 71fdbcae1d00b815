/**
 * The agent process's runtime doors, checked before it holds a key (issue #7): no debugger
 * option, hardening that took effect, and no tracer attached. The result is reported by
 * `agent status --json` as `hardening`.
 *
 * What the CLI does around this (src/cli): SIGUSR1 is handled before anything else runs
 * (Node would otherwise open its inspector on 127.0.0.1:9229), and every catchable
 * terminating signal goes through the agent's one shutdown.
 */
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import { SesameError } from '../errors.js';
import { readHardening, requireHardening } from '../os/native.js';

/** The `hardening` object of the status reply (never secret). */
export interface HardeningReport {
  /** PR_SET_DUMPABLE is 0: no core dump, no same-uid ptrace/pidfd_getfd, /proc/PID/mem closed. */
  dumpable: 0 | 1;
  /** RLIMIT_CORE soft limit in bytes; -1 unlimited, null unknown. */
  core_limit: number | null;
  /** Memory of this process is mlock'd (VmLck > 0: the key's sodium_malloc pages). */
  key_mlocked: boolean;
  /** A SIGUSR1 handler is installed and no inspector is open. */
  inspector_disabled: boolean;
  /** /proc/self/status TracerPid when the agent started (0 = none). */
  tracer_pid_at_start: number | null;
  /** kernel.yama.ptrace_scope, null when Yama is absent. */
  ptrace_scope: number | null;
}

/** True for a node option that opens a debugger or inspector (--inspect*, --debug*). */
export function isDebuggerFlag(flag: string): boolean {
  return /^--(inspect|debug)/.test(flag);
}

/** The first --inspect* / --debug* option among node's flags and NODE_OPTIONS, or null. */
export function debuggerOption(execArgv: readonly string[], nodeOptions: string | undefined): string | null {
  const all = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  return all.find(isDebuggerFlag)?.split('=')[0] ?? null;
}

/** A field of /proc/self/status as a number, or null (not Linux, absent). */
export function procStatusNumber(field: string): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function ptraceScope(): number | null {
  try {
    const n = Number(fs.readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim());
    return Number.isInteger(n) ? n : null;
  } catch {
    return null;
  }
}

/** Whether Node's inspector is listening in this process. */
function inspectorOpen(): boolean {
  try {
    return inspector.url() !== undefined;
  } catch {
    return true; // cannot tell: do not claim it is disabled
  }
}

/**
 * Refuses (ERROR, exit 1) a process about to hold the key when: node runs with a debugger
 * option (named); PR_SET_DUMPABLE 0 or RLIMIT_CORE 0 did not take effect; or a tracer is
 * attached (TracerPid ≠ 0) unless `allowDebugger`. Hardens the process on the way. Call it
 * before any passphrase is read and before any channel that will carry the key exists.
 */
export function agentPreflight(o: { execArgv: readonly string[]; env: NodeJS.ProcessEnv; allowDebugger: boolean }): HardeningReport {
  const opt = debuggerOption(o.execArgv, o.env.NODE_OPTIONS);
  if (opt)
    throw new SesameError('ERROR', `the agent refuses to start with the node option ${opt}: a debugger reads every secret and the key`, {
      hint: 'start it without --inspect/--debug in the node flags and NODE_OPTIONS',
    });
  // Hardened before the tracer check: once not dumpable, no tracer of our uid can attach
  // after the check; one already attached stays attached, and is caught here.
  requireHardening('the agent');
  const tracer = procStatusNumber('TracerPid');
  if (tracer !== null && tracer !== 0 && !o.allowDebugger) {
    throw new SesameError('ERROR', `the agent refuses to start under a tracer (TracerPid ${tracer})`, { hint: 'a debugger or strace reads the key; pass --allow-debugger if this is deliberate' });
  }
  return { ...hardeningNow(), tracer_pid_at_start: tracer };
}

/** The hardening facts as they are now (tracer_pid_at_start: null; the caller keeps its own). */
export function hardeningNow(): HardeningReport {
  const h = readHardening(); // PR_GET_DUMPABLE and getrlimit: /proc/PID/status has no Dumpable line
  let core: number | null = null;
  try {
    const m = /^Max core file size\s+(\S+)\s+(\S+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    if (m) core = m[1] === 'unlimited' ? -1 : Number(m[1]);
  } catch {
    /* not Linux */
  }
  return {
    dumpable: h.dumpable ? 0 : 1,
    core_limit: core,
    key_mlocked: (procStatusNumber('VmLck') ?? 0) > 0,
    inspector_disabled: process.listenerCount('SIGUSR1') > 0 && !inspectorOpen(),
    tracer_pid_at_start: null,
    ptrace_scope: ptraceScope(),
  };
}
