// Type declarations of sesame's Node API (docs/api.md). Self-contained; shipped as
// dist/api.d.mts. src/api/index.ts is checked against this file by the type-checker.
import type { Readable } from 'node:stream';

/** The CLI's error codes (docs/cli.md, "Exit codes"). */
export type ErrorCode =
  'ERROR' | 'USAGE' | 'LOCKED' | 'NOT_FOUND' | 'NOT_INITIALIZED' | 'WRONG_PASSPHRASE' | 'BUSY' | 'DENIED' | 'INTEGRITY' | 'INSECURE' | 'INVALID' | 'KEY_CHANGED' | 'PROTOCOL' | 'UNAVAILABLE';

/** The CLI's exit status for each error code. */
export declare const EXIT_CODES: Readonly<Record<ErrorCode, number>>;

/** Every error the API throws. Never carries a value. */
export declare class SesameApiError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly reason: string | undefined;
  readonly hint: string | undefined;
  readonly detail: Readonly<Record<string, unknown>> | undefined;
}

export interface ConnectOptions {
  socket?: string;
  token?: string;
  delegated?: boolean;
  project?: string;
}

export interface ProjectOption {
  project?: string;
}

/** A key's metadata as `list` gives it (never its value). */
export interface ListedKey {
  key: string;
  created_at: string;
  updated_at: string;
  version: number;
  high_value: boolean;
}

export interface FdHandle {
  readonly fd: number;
  readonly kind: 'secret' | 'sealed';
  readonly size: number;
  read(): Buffer;
  close(): void;
}

export interface ExecOptions {
  project?: string;
  cwd?: string;
  only?: string[];
  prefix?: string;
  stdin?: boolean;
  pty?: { rows: number; cols: number };
  timeoutS?: number;
}

export interface ExecExit {
  code: number | null;
  signal: string | null;
  masked: Record<string, number>;
}

export declare class ExecStream {
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exit: Promise<ExecExit>;
  write(data: Buffer | string): Promise<void>;
  end(): Promise<void>;
  kill(signal?: 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGQUIT'): Promise<void>;
  resize(rows: number, cols: number): Promise<void>;
}

export interface SesameClient {
  get(key: string, opts?: ProjectOption): Promise<Buffer>;
  getSelected(opts?: ProjectOption & { only?: string[]; prefix?: string }): Promise<{ secrets: Map<string, Buffer>; missing: string[] }>;
  list(opts?: { project?: string; prefix?: string }): Promise<Array<{ name: string; keys: ListedKey[] }>>;
  exec(argv: readonly string[], opts?: ExecOptions): ExecStream;
  status(): Promise<Record<string, unknown>>;
  getFd(key: string, opts?: ProjectOption & { kind?: 'sealed' }): Promise<FdHandle>;
  close(): void;
}

export declare function connect(opts?: ConnectOptions): Promise<SesameClient>;
