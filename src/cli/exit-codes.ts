/**
 * The exit status of each error code: the contract scripts rely on (docs/cli.md "Exit codes",
 * `sesame --help`). One table for the CLI (output.ts) and the Node API (src/api), which reports
 * the same `exitCode`. Imports nothing at run time, so the API can load it without the CLI.
 */
import type { ErrorCode } from '../core/errors.js';

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
