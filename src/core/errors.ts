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
