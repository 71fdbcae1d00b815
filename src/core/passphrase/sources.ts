/**
 * The environment tiers: SESAME_PASSPHRASE (accepted, warned) and SESAME_PASSPHRASE_FILE
 * (refused unless a regular 0600 file owned by the user, at most 64 KiB; a FIFO or device is
 * refused without blocking). Probes never read the passphrase.
 */
import { SesameError } from '../errors.js';
import { readPrivateFileStat, statPrivateFile } from '../fs/secure.js';
import { allocSecret } from '../bytes.js';
import type { Tier } from './chain.js';

/** Strips one trailing "\n" or "\r\n" in place (returns a view; the caller wipes the original). */
export function stripOneNewline(b: Buffer): Buffer {
  if (b.length && b[b.length - 1] === 0x0a) {
    const end = b.length >= 2 && b[b.length - 2] === 0x0d ? b.length - 2 : b.length - 1;
    return b.subarray(0, end);
  }
  return b;
}

/** The warning printed when SESAME_PASSPHRASE answers: the environment is readable by the user's other processes. */
export const ENV_WARNING = 'using SESAME_PASSPHRASE from the environment: it is visible in /proc/PID/environ to your other processes; prefer SESAME_PASSPHRASE_FILE, the keyring or the agent';

/** The SESAME_PASSPHRASE tier: the variable's bytes (an empty one is absent). The value is never logged or echoed. */
export const envTier: Tier = {
  name: 'env',
  async probe(ctx) {
    return ctx.env.SESAME_PASSPHRASE !== undefined && ctx.env.SESAME_PASSPHRASE !== ''
      ? { tier: 'env', state: 'present', detail: 'SESAME_PASSPHRASE is set (visible in /proc/PID/environ)' }
      : { tier: 'env', state: 'absent' };
  },
  async fetch(ctx) {
    const v = ctx.env.SESAME_PASSPHRASE;
    if (v === undefined || v === '') return null;
    ctx.warn(ENV_WARNING);
    return Buffer.from(v, 'utf8');
  },
};

/** The file's state from lstat alone (the same checks as reading it): never opens the passphrase. */
function fileState(p: string): { state: 'present' | 'unusable'; detail: string } {
  let st: ReturnType<typeof statPrivateFile>;
  try {
    st = statPrivateFile(p, 'passphrase file');
  } catch (e) {
    if (e instanceof SesameError) return { state: 'unusable', detail: e.message };
    throw e;
  }
  if (!st) return { state: 'unusable', detail: `${p} does not exist` };
  if (st.size === 0n) return { state: 'unusable', detail: `${p} is empty` };
  return { state: 'present', detail: p };
}

/** A passphrase file larger than this is not a passphrase file. */
const MAX_PASSPHRASE_FILE = 64 * 1024;

/**
 * The SESAME_PASSPHRASE_FILE tier: reads the named file through the secure read door (ours, private, regular,
 * capped), minus one trailing newline. A named file that is missing or unsafe fails closed.
 */
export const fileTier: Tier = {
  name: 'file',
  async probe(ctx) {
    const p = ctx.env.SESAME_PASSPHRASE_FILE;
    if (!p) return { tier: 'file', state: 'absent' };
    return { tier: 'file', ...fileState(p) };
  },
  async fetch(ctx) {
    const p = ctx.env.SESAME_PASSPHRASE_FILE;
    if (!p) return null;
    // Through the secure-file door: a FIFO, device or symlink is refused before any read.
    const b = readPrivateFileStat(p, 'passphrase file', { maxBytes: MAX_PASSPHRASE_FILE })?.data ?? null;
    if (!b) throw new SesameError('NOT_FOUND', `SESAME_PASSPHRASE_FILE ${p} does not exist`, { hint: 'fix the path or unset SESAME_PASSPHRASE_FILE' });
    // Its own backing store, never a slice of Node's shared pool: wiping it reaches the only copy.
    const line = stripOneNewline(b);
    const v = allocSecret(line.length);
    line.copy(v);
    b.fill(0);
    if (!v.length) throw new SesameError('INVALID', `SESAME_PASSPHRASE_FILE ${p} is empty`);
    return v;
  },
};
