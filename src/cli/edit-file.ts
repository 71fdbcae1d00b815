/**
 * The scratch file `sesame edit` hands to the user's editor: in a private directory (0700,
 * ours) on a memory filesystem (tmpfs or ramfs, checked with statfs) — $XDG_RUNTIME_DIR,
 * else /dev/shm — never on a disk; the file 0600, created exclusively, never through a
 * symlink. Afterwards every file in that directory (the value, and any swap or backup file
 * the editor left next to it) is overwritten with zeros and removed, then the directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SesameError } from '../core/errors.js';
import { allocSecret } from '../core/bytes.js';

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

/** Why each candidate directory was not used, for the refusal. */
function candidates(env: NodeJS.ProcessEnv): Array<{ dir: string; why?: string }> {
  const out: Array<{ dir: string; why?: string }> = [];
  for (const dir of [env.XDG_RUNTIME_DIR, '/dev/shm']) {
    if (!dir) continue;
    try {
      const st = fs.statSync(dir);
      const type = fs.statfsSync(dir).type;
      if (!st.isDirectory()) out.push({ dir, why: 'not a directory' });
      else if (type !== TMPFS_MAGIC && type !== RAMFS_MAGIC) out.push({ dir, why: 'not a memory filesystem (tmpfs)' });
      else if (dir !== '/dev/shm' && (st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0)) out.push({ dir, why: 'not private to you (owner and mode 0700)' });
      else out.push({ dir });
    } catch {
      out.push({ dir, why: 'not reachable' });
    }
  }
  return out;
}

/** A private scratch directory on tmpfs. UNAVAILABLE (saying why for each candidate) when there is none. */
export function privateTmpfsDir(env: NodeJS.ProcessEnv): string {
  const c = candidates(env);
  const ok = c.find((x) => x.why === undefined);
  if (!ok) {
    const why = c.length ? c.map((x) => `${x.dir}: ${x.why ?? ''}`).join('; ') : 'no $XDG_RUNTIME_DIR and no /dev/shm';
    throw new SesameError('UNAVAILABLE', `no private memory filesystem for the edit file (${why}); refusing to write a secret to a disk`, {
      hint: 'set XDG_RUNTIME_DIR to a tmpfs directory of yours (mode 0700), or use `sesame set KEY`',
    });
  }
  const old = process.umask(0o077);
  try {
    const dir = fs.mkdtempSync(path.join(ok.dir, 'sesame-edit-'));
    fs.chmodSync(dir, 0o700);
    return dir;
  } finally {
    process.umask(old);
  }
}

/** Writes `value` to a new 0600 file `name` in `dir` (O_EXCL, O_NOFOLLOW); returns its path. */
export function writeScratch(dir: string, name: string, value: Buffer): string {
  const p = path.join(dir, name);
  const fd = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  try {
    fs.writeSync(fd, value);
  } finally {
    fs.closeSync(fd);
  }
  return p;
}

/** The file's bytes in an off-heap Buffer (the caller wipes it); refuses a non-regular file or one over `max`. */
export function readScratch(p: string, max: number): Buffer {
  const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new SesameError('INVALID', 'the edited file is not a regular file; nothing was stored');
    if (st.size > max) throw new SesameError('INVALID', `the edited value is larger than ${max / 1048576} MiB; nothing was stored`);
    const b = allocSecret(st.size);
    let off = 0;
    while (off < b.length) {
      const n = fs.readSync(fd, b, off, b.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === b.length ? b : b.subarray(0, off);
  } finally {
    fs.closeSync(fd);
  }
}

/** Overwrites a regular file with zeros (fsync) and removes it; anything else is just removed. Never throws. */
function wipeFile(p: string): void {
  try {
    const st = fs.lstatSync(p);
    if (st.isFile() && st.size > 0) {
      const fd = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW);
      try {
        const zero = Buffer.alloc(Math.min(st.size, 1 << 20));
        for (let off = 0; off < st.size; off += zero.length) fs.writeSync(fd, zero, 0, Math.min(zero.length, st.size - off), off);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    fs.rmSync(p, { recursive: true, force: true });
  } catch {
    /* best effort: the directory is removed below */
  }
}

/** The names in `dir` other than `keep` (editor swap, backup and lock files: `.x.swp`, `x~`, `#x#`, `.#x`). */
export function strayFiles(dir: string, keep: string): string[] {
  return fs.readdirSync(dir).filter((n) => n !== keep);
}

/** Wipes every file in `dir` and removes it. Never throws. */
export function wipeDir(dir: string): void {
  try {
    for (const n of fs.readdirSync(dir)) wipeFile(path.join(dir, n));
    fs.rmdirSync(dir);
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
