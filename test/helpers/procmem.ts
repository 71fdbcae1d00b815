/**
 * Reads another process's memory the way an attacker with ptrace rights would: every
 * readable mapping in /proc/PID/maps, through /proc/PID/mem. Needs root (CAP_SYS_PTRACE):
 * the agent sets PR_SET_DUMPABLE 0, so its own uid cannot read it.
 */
import * as fs from 'node:fs';

const CHUNK = 16 * 1024 * 1024;

/** True when this process may read /proc/PID/mem of a non-dumpable process. */
export const canReadForeignMemory = (): boolean => process.getuid?.() === 0;

/**
 * Counts the occurrences of each needle in every readable mapping of `pid`. `regions` counts
 * the mappings read whole; those the kernel refuses (EIO, e.g. guard pages) are counted in `skipped`.
 */
export function countInMemory(pid: number, needles: Buffer[]): { counts: number[]; regions: number; skipped: number; where: string[][] } {
  const maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8').trim().split('\n');
  const fd = fs.openSync(`/proc/${pid}/mem`, 'r');
  const counts = needles.map(() => 0);
  const where: string[][] = needles.map(() => []);
  const overlap = Math.max(...needles.map((n) => n.length)) - 1;
  const buf = Buffer.allocUnsafeSlow(CHUNK + overlap);
  let regions = 0;
  let skipped = 0;
  try {
    for (const line of maps) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) r/.exec(line);
      if (!m?.[1] || !m[2] || line.endsWith('[vvar]') || line.endsWith('[vsyscall]')) continue;
      const start = Number.parseInt(m[1], 16);
      const end = Number.parseInt(m[2], 16);
      try {
        // Chunks overlap by the longest needle minus one, so a needle across a boundary is seen once.
        for (let at = start; at < end; at += CHUNK) {
          const len = Math.min(CHUNK + overlap, end - at);
          const got = readFully(fd, buf, len, at);
          const view = buf.subarray(0, got);
          needles.forEach((n, k) => {
            for (let i = view.indexOf(n); i !== -1; i = view.indexOf(n, i + 1)) {
              if (i >= CHUNK) break; // counted by the next chunk
              counts[k] = (counts[k] ?? 0) + 1;
              where[k]?.push(`${(at + i).toString(16)} in ${line.replace(/\s+/g, ' ').slice(0, 90)}`);
            }
          });
        }
        regions++; // counted only once read whole: a scan whose reads all fail finds nothing and says so
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EIO' && (e as NodeJS.ErrnoException).code !== 'EFAULT') throw e;
        skipped++;
      }
    }
  } finally {
    fs.closeSync(fd);
    buf.fill(0);
  }
  return { counts, regions, skipped, where };
}

function readFully(fd: number, buf: Buffer, len: number, pos: number): number {
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** VmRSS of `pid` in bytes (from /proc/PID/status). */
export function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}
