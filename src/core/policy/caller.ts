/**
 * Who is asking: the Caller, built once per connection from what the kernel says about the
 * peer, plus the listener it came through (docs/spec/agent-protocol.md, "Listeners and
 * callers"). Later the connection layer completes it per request with the token it
 * presented (resolved to an 8-hex id and a scope; the raw token is never kept here).
 *
 * This module reads /proc and nothing else: no koffi, no libsodium. The peer credentials
 * come from `peerCred()` in src/core/os/native.ts, called by the connection layer, and are
 * passed in; `PeerCredentials` is structurally the same as native.ts's `PeerCred`.
 *
 * Security caveat: the kernel's peer credentials describe the process at connect time; the
 * start time and executable are read from /proc afterwards. If the peer exited and its pid
 * was reused in between, the pid's current process is what /proc shows. `startTime` lets an
 * approval or a log tell two processes with one pid apart; it cannot close that window
 * (SO_PEERPIDFD, Linux 6.5, would). Nothing here is a secret.
 */
import * as fs from 'node:fs';

/** What the kernel reports for the other end of a Unix socket. `pid` is null where the OS cannot tell. */
export interface PeerCredentials {
  readonly uid: number;
  readonly gid: number;
  readonly pid: number | null;
}

/** The kind of socket a connection came through. */
export type ListenerKind = 'owner' | 'profile' | 'cell';

/** A listener as a Caller sees it: its kind and, for profile sockets, the profile's name. */
export interface ListenerRef {
  readonly kind: ListenerKind;
  readonly name?: string;
  /** `cli`: no socket; the CLI's own direct unlock reading for its user (kind `owner`). Absent: an agent socket. */
  readonly via?: 'cli';
}

/** The ops a token scope may name (docs/spec/tokens.md, next issue). */
export type ScopedOp = 'status' | 'get' | 'getselected' | 'list' | 'exec' | 'check';

/**
 * A scope: what a token allows. A missing member means "no restriction on that axis".
 * `projects` are exact project names; `keys` are globs over key names (`*` any run, `?` one
 * character; see `matchKeyGlob`); `ops` are the ops allowed.
 */
export interface Scope {
  readonly projects?: readonly string[];
  readonly keys?: readonly string[];
  readonly ops?: readonly ScopedOp[];
}

/**
 * A token the agent has already verified for this request: known, unexpired, unrevoked
 * (constant-time digest comparison happens where tokens are stored, not here). `id8` is the
 * first 8 hex digits of its SHA-256, the only name logs and messages use.
 */
export interface TokenGrant {
  readonly id8: string;
  readonly scope: Scope;
}

/** A registered cell (issue 11): its id as it presented it. */
export interface CellRef {
  readonly id: string;
}

/**
 * Who is asking. Built by `callerFromPeer` once per connection; `token` and `cell` are
 * added per request by the connection layer (`withToken`). Immutable.
 */
export interface Caller {
  readonly uid: number;
  readonly gid: number;
  /** The kernel's peer pid; null where the OS cannot tell (macOS without LOCAL_PEERPID). */
  readonly pid: number | null;
  /** Field 22 of /proc/PID/stat (clock ticks after boot); null when unreadable or not Linux. */
  readonly startTime: number | null;
  /** readlink(/proc/PID/exe); null when unreadable (another uid, exited, not Linux). */
  readonly exe: string | null;
  readonly listener: ListenerRef;
  /** The verified token of the current request, if it presented one. */
  readonly token?: TokenGrant;
  /** The cell of the current request (cell listener only). */
  readonly cell?: CellRef;
}

/**
 * Parses the start time (field 22) out of the text of /proc/PID/stat. The command name
 * (field 2) is in parentheses and may itself hold spaces and parentheses, so fields are
 * counted from the LAST ')'. Returns null for anything that does not parse. Never throws.
 */
export function parseStartTime(stat: string): number | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 (state), so field 22 is fields[19].
  const raw = fields[19];
  if (raw === undefined || !/^\d{1,20}$/.test(raw)) return null;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * How the Caller reads /proc: the text of /proc/PID/stat and the target of /proc/PID/exe,
 * each null when unreadable. Injectable for tests; `procReader()` is the real one.
 */
export interface ProcReader {
  stat(pid: number): string | null;
  exe(pid: number): string | null;
}

/** Reads `${root}/PID/stat` and `${root}/PID/exe`. Never throws. */
export function procReader(root = '/proc'): ProcReader {
  const attempt = <T>(f: () => T): T | null => {
    try {
      return f();
    } catch {
      return null;
    }
  };
  return {
    stat: (pid) => attempt(() => fs.readFileSync(`${root}/${pid}/stat`, 'latin1')),
    exe: (pid) => attempt(() => fs.readlinkSync(`${root}/${pid}/exe`)),
  };
}

/** The start time of `pid` (field 22 of its stat), or null. Never throws. */
export function readStartTime(pid: number, proc: ProcReader = procReader()): number | null {
  const text = proc.stat(pid);
  return text === null ? null : parseStartTime(text);
}

/**
 * Builds the Caller for a connection from the kernel's peer credentials and the listener it
 * was accepted on. Reads the start time, then the executable, then the start time again: if
 * the two readings differ (the pid now names another process) or either is missing, both
 * `startTime` and `exe` are null, so an executable is never attributed to the wrong process.
 * Never throws: what cannot be read is null; uid, gid and pid are the kernel's and are what
 * access rules use.
 */
export function callerFromPeer(peer: PeerCredentials, listener: ListenerRef, proc: ProcReader = procReader()): Caller {
  const base = { uid: peer.uid, gid: peer.gid, pid: peer.pid, listener: freezeListener(listener) };
  if (peer.pid === null || !(peer.pid > 0)) return Object.freeze({ ...base, startTime: null, exe: null });
  const before = readStartTime(peer.pid, proc);
  const exe = before === null ? null : proc.exe(peer.pid);
  const after = before === null ? null : readStartTime(peer.pid, proc);
  if (before === null || after !== before) return Object.freeze({ ...base, startTime: null, exe: null });
  return Object.freeze({ ...base, startTime: before, exe });
}

/** The same Caller with the token verified for one request (or without one). Never mutates. */
export function withToken(caller: Caller, token: TokenGrant | undefined): Caller {
  const { token: _old, ...rest } = caller;
  return Object.freeze(token ? { ...rest, token } : rest);
}

/** True when `a` and `b` are the same process: same pid and same known start time. */
export function sameProcess(a: Pick<Caller, 'pid' | 'startTime'>, b: Pick<Caller, 'pid' | 'startTime'>): boolean {
  return a.pid !== null && a.pid === b.pid && a.startTime !== null && a.startTime === b.startTime;
}

/** A one-line description for logs: uid, pid, listener, token id. Never secret. */
export function describeCaller(c: Caller): string {
  const l = c.listener.name === undefined ? c.listener.kind : `${c.listener.kind}:${c.listener.name}`;
  return `uid ${c.uid} pid ${c.pid === null ? '?' : c.pid} via ${l}${c.token ? ` token ${c.token.id8}` : ''}`;
}

function freezeListener(l: ListenerRef): ListenerRef {
  const r: { kind: ListenerKind; name?: string; via?: 'cli' } = { kind: l.kind };
  if (l.name !== undefined) r.name = l.name;
  if (l.via !== undefined) r.via = l.via;
  return Object.freeze(r);
}
