/**
 * The detached agent's argv (src/daemon/main.ts): its own small grammar, not the CLI's —
 * nobody types it; agent-spawn.ts writes it. Strict: anything unexpected is refused.
 */
import * as path from 'node:path';
import { SesameError } from '../core/errors.js';

/** What the starting CLI passes. */
export interface DaemonArgs {
  home: string;
  idleMs: number;
  ttlMs: number;
  /** `agent start --evict-after`, ms (absent: the default). */
  evictAfterMs?: number;
  handoff: string;
  allowDebugger: boolean;
  /** `agent start --require-token`. */
  requireToken?: boolean;
  /** `agent start --cells`. */
  cells?: boolean;
  /** `agent start --session`: the session token's hex SHA-256 (not a secret: it cannot be presented). */
  sessionDigest?: string;
  /** `agent start --writes`: the owner socket serves the owner's writes. */
  writes?: boolean;
}

/** Parses the daemon's argv (without node and the script). Strict: throws USAGE on anything else. */
export function parseDaemonArgs(argv: readonly string[]): DaemonArgs {
  const out: Partial<DaemonArgs> = { allowDebugger: false, requireToken: false };
  const ms = (v: string, what: string): number => {
    if (!/^\d{1,15}$/.test(v)) throw new SesameError('USAGE', `sesame-agent: ${what} must be a whole number of milliseconds`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new SesameError('USAGE', `sesame-agent: ${String(a)} needs a value`);
      return v;
    };
    if (a === '--home') out.home = path.resolve(value());
    else if (a === '--idle-ms') out.idleMs = ms(value(), '--idle-ms');
    else if (a === '--ttl-ms') out.ttlMs = ms(value(), '--ttl-ms');
    else if (a === '--evict-after-ms') out.evictAfterMs = ms(value(), '--evict-after-ms');
    else if (a === '--handoff') out.handoff = value();
    else if (a === '--allow-debugger') out.allowDebugger = true;
    else if (a === '--require-token') out.requireToken = true;
    else if (a === '--writes') out.writes = true;
    else if (a === '--cells') out.cells = true;
    else if (a === '--session-digest') {
      const v = value();
      if (!/^[0-9a-f]{64}$/.test(v)) throw new SesameError('USAGE', 'sesame-agent: --session-digest must be 64 lowercase hex digits');
      out.sessionDigest = v;
    } else throw new SesameError('USAGE', `sesame-agent: unexpected argument ${JSON.stringify(String(a).slice(0, 40))}`, { hint: 'it is started by `sesame agent start --background`' });
  }
  const { home, idleMs, ttlMs, handoff, allowDebugger } = out;
  if (home === undefined || idleMs === undefined || ttlMs === undefined || handoff === undefined || ttlMs <= 0) {
    throw new SesameError('USAGE', 'sesame-agent needs --home, --idle-ms, --ttl-ms (> 0) and --handoff', { hint: 'it is started by `sesame agent start --background`' });
  }
  return {
    home,
    idleMs,
    ttlMs,
    ...(out.evictAfterMs !== undefined ? { evictAfterMs: out.evictAfterMs } : {}),
    handoff,
    allowDebugger: allowDebugger === true,
    requireToken: out.requireToken === true,
    ...(out.cells ? { cells: true } : {}),
    ...(out.sessionDigest !== undefined ? { sessionDigest: out.sessionDigest } : {}),
    ...(out.writes ? { writes: true } : {}),
  };
}

/** The argv agent-spawn.ts passes for `a` (the inverse of `parseDaemonArgs`). */
export function daemonArgv(a: DaemonArgs): string[] {
  return [
    '--home',
    a.home,
    '--idle-ms',
    String(a.idleMs),
    '--ttl-ms',
    String(a.ttlMs),
    ...(a.evictAfterMs !== undefined ? ['--evict-after-ms', String(a.evictAfterMs)] : []),
    '--handoff',
    a.handoff,
    ...(a.allowDebugger ? ['--allow-debugger'] : []),
    ...(a.requireToken ? ['--require-token'] : []),
    ...(a.cells ? ['--cells'] : []),
    ...(a.sessionDigest !== undefined ? ['--session-digest', a.sessionDigest] : []),
    ...(a.writes ? ['--writes'] : []),
  ];
}
