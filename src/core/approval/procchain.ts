/**
 * Who a waiting caller really is, for the owner deciding on it: the peer's parent chain up to
 * its session leader, read from /proc (pid, executable, command name). Shown by `approve`;
 * never used for a decision (a process can rename itself; the executable link cannot be
 * forged by it, but a pid can be reused after it exits). Nothing here is a secret.
 */
import * as fs from 'node:fs';

/** One process of a chain: its pid, executable (null when unreadable) and command name (`comm`, at most 16 bytes). */
export interface ChainLink {
  readonly pid: number;
  readonly exe: string | null;
  readonly comm: string | null;
}

/** How many links a chain holds at most (a deeper one is cut off). */
export const MAX_CHAIN = 16;

/** `ppid` and `session` of a /proc/PID/stat text (fields 4 and 6, counted after the last ')'), or null. */
export function parseStatLinks(stat: string): { comm: string; ppid: number; session: number } | null {
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const f = stat
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const ppid = Number(f[1]);
  const session = Number(f[3]);
  if (!Number.isSafeInteger(ppid) || !Number.isSafeInteger(session)) return null;
  return { comm: stat.slice(open + 1, close), ppid, session };
}

/**
 * The chain of `pid`: the process itself first, then each parent, up to and including its
 * session leader (or pid 1, or MAX_CHAIN links). Empty when `pid` is null or unreadable. Never throws.
 */
export function parentChain(pid: number | null, root = '/proc'): ChainLink[] {
  const out: ChainLink[] = [];
  let p = pid;
  while (p !== null && p > 0 && out.length < MAX_CHAIN) {
    let stat: string;
    try {
      stat = fs.readFileSync(`${root}/${p}/stat`, 'latin1');
    } catch {
      break;
    }
    const s = parseStatLinks(stat);
    if (!s) break;
    let exe: string | null = null;
    try {
      exe = fs.readlinkSync(`${root}/${p}/exe`);
    } catch {
      /* another uid, or exited */
    }
    out.push(Object.freeze({ pid: p, exe, comm: printable(s.comm) }));
    if (p === s.session || s.ppid <= 1) break;
    p = s.ppid;
  }
  return out;
}

function printable(s: string): string | null {
  return /^[\x20-\x7e]{1,64}$/.test(s) ? s : null;
}
