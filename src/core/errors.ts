/**
 * The one error type of sesame. Every failure the core reports is a SesameError with a
 * stable code; the CLI maps codes to exit codes (the map lives in src/cli/output.ts, not here:
 * the core is a library) and the agent carries `{code, message, hint}` on the wire so a
 * client can rebuild the same error.
 *
 * Remedies: the core never words a CLI command. An error whose fix is a sesame command
 * carries a machine-readable `remedy` (with its parameters in `detail`); the process that
 * hosts the core — the CLI, and the agent it runs — installs a renderer
 * (`setHintRenderer`, src/cli/hints.ts) that turns it into the `hint` text. A CLI-free hint
 * ("create another project first") may still be given as text.
 *
 * Contract: a message or hint NEVER contains a secret value or a passphrase. Name keys,
 * projects and paths; never values.
 */
/** Every error code, in declaration order (the CLI maps each to an exit code). */
export const ERROR_CODES = [
  'ERROR', // generic failure (exit 1)
  'USAGE', // the caller used a command wrongly (exit 2)
  'LOCKED', // no way to unlock without a TTY (exit 3)
  'NOT_FOUND', // key, project, token... missing (exit 4)
  'NOT_INITIALIZED', // no vault at this home (exit 5)
  'WRONG_PASSPHRASE', // the passphrase does not open the vault (exit 6)
  'BUSY', // a lock was held too long (exit 7)
  'DENIED', // refused by policy: peer, token, profile, approval (exit 8)
  'INTEGRITY', // the vault file is damaged or was tampered with (exit 1)
  'INSECURE', // a file or directory has unsafe ownership or permissions (exit 1)
  'INVALID', // bad input data: key name, file format, value (exit 1)
  'KEY_CHANGED', // the vault's key changed under a running agent (exit 1)
  'PROTOCOL', // agent protocol violation (exit 1)
  'UNAVAILABLE', // a component (agent, keyring, tool) cannot be reached (exit 1)
] as const;

/** A stable error code: callers branch on it; the wire carries it. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * What a user can do about an error, when the fix is a sesame command. The renderer words
 * it; parameters come from the error's `detail` (named below). Never secret.
 */
export const REMEDIES = [
  'init', // create a vault at this home
  'init_home', // the home directory does not exist yet
  'status', // look at `status`
  'list_keys', // list the keys of the project
  'projects_list', // list the projects
  'projects_create', // list the projects, or create one
  'project_create', // create the missing project (detail.project)
  'import_lenient', // fix the refused lines, or import the rest leniently
  'rm_keys', // empty a project key by key (detail.project)
  'agent_start', // start the agent again
  'agent_restart', // the vault was re-initialised under the agent: stop, then start it
  'agent_upgrade', // the agent speaks another version (or is an impostor)
  'agent_running', // an agent holds the lock: see its status, or stop it
  'agent_socket_taken', // a live agent listens on the socket path
  'agent_status', // the agent did not answer: see its status, or bypass it
  'unlock_from_terminal', // no tier answered and there is no terminal
  'wrong_passphrase', // a tier gave a wrong passphrase (detail.tier)
  'passphrase_reseal', // the sealed passphrase cannot be unsealed on this machine
  'passphrase_acknowledge', // a machine-bound tier needs the passphrase saved elsewhere first
  'key_history', // look at the versions and removed keys kept (detail.key)
  'rm_then_purge', // purge erases only a removed key: remove it first (detail.key)
  'project_copy_keys', // the default project is not renamed: copy its keys instead
  'agent_writes', // the agent is read-only: restart it with --writes, or give the passphrase
] as const;

/** One of REMEDIES. */
export type Remedy = (typeof REMEDIES)[number];

/** True when `s` is one of sesame's remedies. */
export function isRemedy(s: unknown): s is Remedy {
  return typeof s === 'string' && (REMEDIES as readonly string[]).includes(s);
}

/** Turns an error's remedy (and detail) into hint text; undefined when it has none. */
export type HintRenderer = (remedy: Remedy, detail: Readonly<Record<string, unknown>>) => string | undefined;

let renderer: HintRenderer | undefined;

/**
 * Installs the renderer every SesameError uses to word its remedy as `hint` (the CLI's
 * output module does, for the CLI process and the agent it runs, so the agent's wire errors
 * carry the same text). Without one, an error with only a remedy has no hint text; its
 * remedy and detail stay machine-readable. Installing replaces the previous renderer.
 */
export function setHintRenderer(r: HintRenderer | undefined): void {
  renderer = r;
}

/**
 * The one error class: a stable `code` (exit code and wire code), a message that never holds a secret,
 * an optional CLI-free `hint` or machine-readable `remedy` (worded by the installed renderer), and `detail`.
 */
export class SesameError extends Error {
  readonly code: ErrorCode;
  /** What to do, as a sesame command, for the renderer to word (see Remedy). */
  readonly remedy: Remedy | undefined;
  /** Extra machine-readable detail for --json output and the remedy's parameters; never secret. */
  readonly detail: Record<string, unknown> | undefined;
  readonly #hint: string | undefined;

  /** Never throws. `hint` is CLI-free text; `remedy` is the machine-readable fix (the renderer words it). */
  constructor(code: ErrorCode, message: string, opts: { hint?: string | undefined; remedy?: Remedy; detail?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'SesameError';
    this.code = code;
    this.#hint = opts.hint;
    this.remedy = opts.remedy;
    this.detail = opts.detail;
  }

  /** The text hint: the one given, else the installed renderer's wording of the remedy. */
  get hint(): string | undefined {
    if (this.#hint !== undefined) return this.#hint;
    return this.remedy !== undefined && renderer ? renderer(this.remedy, this.detail ?? {}) : undefined;
  }

  /** `{code, message, hint?}`, as the wire and `--json` status reports carry it. */
  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    const hint = this.hint;
    return hint ? { code: this.code, message: this.message, hint } : { code: this.code, message: this.message };
  }
}

/** True when `s` is one of sesame's error codes (a reply from another process is checked with it). */
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
