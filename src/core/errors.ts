/**
 * The one error type of sesame. Every failure the core reports is a SesameError with a
 * stable code; the CLI maps codes to exit codes (see src/cli/output.ts) and the agent
 * carries `{code, message, hint}` on the wire so a client can rebuild the same error.
 *
 * Contract: a message or hint NEVER contains a secret value or a passphrase. Name keys,
 * projects and paths; never values.
 */
export type ErrorCode =
  | 'ERROR' // generic failure (exit 1)
  | 'USAGE' // the caller used a command wrongly (exit 2)
  | 'LOCKED' // no way to unlock without a TTY (exit 3)
  | 'NOT_FOUND' // key, project, token... missing (exit 4)
  | 'NOT_INITIALIZED' // no vault at this home (exit 5)
  | 'WRONG_PASSPHRASE' // the passphrase does not open the vault (exit 6)
  | 'BUSY' // a lock was held too long (exit 7)
  | 'DENIED' // refused by policy: peer, token, profile, approval (exit 8)
  | 'INTEGRITY' // the vault file is damaged or was tampered with (exit 1)
  | 'INSECURE' // a file or directory has unsafe ownership or permissions (exit 1)
  | 'INVALID' // bad input data: key name, file format, value (exit 1)
  | 'KEY_CHANGED' // the vault's key changed under a running agent (exit 1)
  | 'PROTOCOL' // agent protocol violation (exit 1)
  | 'UNAVAILABLE'; // a component (agent, keyring, tool) cannot be reached (exit 1)

export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  ERROR: 1,
  USAGE: 2,
  LOCKED: 3,
  NOT_FOUND: 4,
  NOT_INITIALIZED: 5,
  WRONG_PASSPHRASE: 6,
  BUSY: 7,
  DENIED: 8,
  INTEGRITY: 1,
  INSECURE: 1,
  INVALID: 1,
  KEY_CHANGED: 1,
  PROTOCOL: 1,
  UNAVAILABLE: 1,
};

export class SesameError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** Extra machine-readable detail for --json output; never secret. */
  readonly detail: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, opts: { hint?: string; detail?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'SesameError';
    this.code = code;
    this.hint = opts.hint;
    this.detail = opts.detail;
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return this.hint ? { code: this.code, message: this.message, hint: this.hint } : { code: this.code, message: this.message };
  }
}

export const ERROR_CODES: readonly ErrorCode[] = Object.keys(EXIT_CODES) as ErrorCode[];

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && (ERROR_CODES as readonly string[]).includes(s);
}

/** Operations named in an I/O error's message and its `detail.op`. */
export type IoOp = 'read' | 'write' | 'create' | 'remove' | 'lock' | 'sync' | 'open' | 'list';

/** The errno codes `ioError` explains: each has a plain message here and a hint in the CLI. */
const IO_WORDS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ELOOP: 'too many levels of symbolic links, a symlink loop',
  EIO: 'an input/output error from the storage',
  EMFILE: 'this process has too many open files',
  ENFILE: 'the system has too many open files',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'it is a directory',
  ENAMETOOLONG: 'the path is too long',
  EXDEV: 'it is on another file system',
  EBUSY: 'the resource is busy',
  ENOMEM: 'out of memory',
};

const IO_VERBS: Readonly<Record<IoOp, string>> = {
  read: 'read',
  write: 'write',
  create: 'create',
  remove: 'remove',
  lock: 'lock',
  sync: 'sync to disk',
  open: 'open',
  list: 'list',
};

/**
 * Turns a Node file-system error (`code`, `syscall`, `path`) into a SesameError a user can act
 * on: code ERROR, a message naming the operation, the path and what the kernel said, and
 * `detail: {errno, op, path}` for the CLI's hint and `--json`. `what` names the file ("the
 * vault"); `after` is appended to the message (e.g. "the old contents are unchanged").
 * Returns null for anything that is not an errno error this module knows, so a real bug
 * still reads as one. Never contains a value: only paths and errno names.
 */
export function ioError(e: unknown, ctx: { op?: IoOp; path?: string; what?: string; after?: string; detail?: Record<string, unknown> } = {}): SesameError | null {
  if (e instanceof SesameError || !(e instanceof Error)) return null;
  const err = e as NodeJS.ErrnoException;
  if (typeof err.code !== 'string' || !Object.prototype.hasOwnProperty.call(IO_WORDS, err.code)) return null;
  const p = ctx.path ?? (typeof err.path === 'string' ? err.path : undefined);
  const op = ctx.op ?? opOfSyscall(err.syscall);
  const target = [ctx.what, p].filter(Boolean).join(' ');
  const head = target ? `cannot ${IO_VERBS[op]} ${target}` : `cannot ${IO_VERBS[op]}`;
  const message = `${head}: ${IO_WORDS[err.code]} (${err.code})${ctx.after ? `; ${ctx.after}` : ''}`;
  return new SesameError('ERROR', message, { detail: { errno: err.code, op, ...(p ? { path: p } : {}), ...ctx.detail }, cause: e });
}

function opOfSyscall(syscall: string | undefined): IoOp {
  switch (syscall) {
    case 'read':
    case 'stat':
    case 'lstat':
    case 'fstat':
    case 'access':
    case 'readlink':
      return 'read';
    case 'write':
    case 'rename':
    case 'fchmod':
    case 'chmod':
    case 'ftruncate':
      return 'write';
    case 'mkdir':
      return 'create';
    case 'unlink':
    case 'rmdir':
      return 'remove';
    case 'fsync':
    case 'fdatasync':
      return 'sync';
    case 'scandir':
      return 'list';
    default:
      return 'open';
  }
}
