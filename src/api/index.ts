/**
 * sesame's Node API (docs/api.md): a typed client of a running agent for programs that want
 * secrets without shelling out. ES module; `import { connect } from 'sesame'`.
 *
 * - Values come back as Buffers off V8's movable heap (decoded byte by byte from the reply,
 *   never a JS string); the program wipes them (`buf.fill(0)`) when done.
 * - Errors are `SesameApiError`s carrying the CLI's `code`, its exit status (`exitCode`),
 *   `reason` (detail.reason, e.g. `scope`, `token_unknown`) and `hint` — never a value.
 * - No native addon is loaded until `getFd` is used: the connection is checked by path
 *   (every directory above the socket owned by us or root and writable by nobody else)
 *   instead of by the kernel's peer credentials, which need koffi. `getFd` loads koffi (the
 *   native door) to receive the descriptor and checks the server's uid the kernel's way.
 *   libsodium is never loaded.
 */
import * as path from 'node:path';
import { connectAgent, type AgentClient, type ListedKey } from '../core/agent/client.js';
import { SesameError, type ErrorCode } from '../core/errors.js';
import { homePaths, resolveHome, resolveProject } from '../core/paths.js';
import { isValidKeyName } from '../core/names.js';
import { allocSecret } from '../core/bytes.js';
import { ExecStream, startExec, type ExecOptions } from './exec.js';
import { EXIT_CODES } from '../cli/exit-codes.js';

export { ExecStream, type ExecOptions, type ExecExit } from './exec.js';
export type { ListedKey } from '../core/agent/client.js';

export { EXIT_CODES };

/** Every error the API throws: the agent's (or the client's) error with the CLI's code and exit status. */
export class SesameApiError extends Error {
  /** The CLI's error code (`NOT_FOUND`, `DENIED`, `UNAVAILABLE`, …). */
  readonly code: ErrorCode;
  /** What the CLI would exit with for it. */
  readonly exitCode: number;
  /** The machine-readable reason (`detail.reason`), when there is one: `scope`, `token_unknown`, `rate`, … */
  readonly reason: string | undefined;
  /** What to do, in words. */
  readonly hint: string | undefined;
  /** Extra non-secret detail as the agent sent it. */
  readonly detail: Readonly<Record<string, unknown>> | undefined;

  constructor(e: SesameError) {
    super(e.message);
    this.name = 'SesameApiError';
    this.code = e.code;
    this.exitCode = EXIT_CODES[e.code];
    this.reason = typeof e.detail?.reason === 'string' ? e.detail.reason : undefined;
    this.hint = e.hint;
    this.detail = e.detail;
  }
}

/** Rethrows anything as a SesameApiError (unknown failures as ERROR). */
function api(e: unknown): never {
  if (e instanceof SesameApiError) throw e;
  if (e instanceof SesameError) throw new SesameApiError(e);
  throw new SesameApiError(new SesameError('ERROR', e instanceof Error ? e.message : 'the request failed'));
}

/** How to reach the agent. */
export interface ConnectOptions {
  /** The agent's socket (default: $SESAME_AGENT_SOCK, else `agent.sock` in $SESAME_HOME or ~/.sesame). */
  socket?: string;
  /** A capability token (default: $SESAME_AGENT_TOKEN). Sent with every request, never logged. */
  token?: string;
  /**
   * The socket was handed to this process by its owner (a container, a sandbox): trust the
   * path, skip the ownership checks (default: $SESAME_AGENT_DELEGATED === '1').
   */
  delegated?: boolean;
  /** The default project (default: $SESAME_PROJECT, the directory's .sesame.toml, then the home's choice). */
  project?: string;
}

/** Which project a call is about. */
export interface ProjectOption {
  project?: string;
}

/** A value delivered as a file descriptor (`getFd`). */
export interface FdHandle {
  /** The descriptor (close-on-exec), until `read()` or `close()`. */
  readonly fd: number;
  /** `secret`: memfd_secret, out of the kernel's direct map; `sealed`: a sealed memory file. */
  readonly kind: 'secret' | 'sealed';
  /** The value's length in bytes. */
  readonly size: number;
  /** Copies the value into a fresh Buffer (off V8's heap; wipe it) and closes the descriptor. */
  read(): Buffer;
  /** Closes the descriptor without reading (idempotent). */
  close(): void;
}

/** A connection to the agent. One connection carries many requests at once. */
export interface SesameClient {
  /** One value. The caller wipes the Buffer. */
  get(key: string, opts?: ProjectOption): Promise<Buffer>;
  /** Several values (`only` names, or every key starting with `prefix`, or all); the caller wipes each Buffer. */
  getSelected(opts?: ProjectOption & { only?: string[]; prefix?: string }): Promise<{ secrets: Map<string, Buffer>; missing: string[] }>;
  /** Names and metadata, never values: every project this caller may see, or one. */
  list(opts?: { project?: string; prefix?: string }): Promise<Array<{ name: string; keys: ListedKey[] }>>;
  /** Runs a command through the agent (values injected there, output masked): a stream with its exit. */
  exec(argv: readonly string[], opts?: ExecOptions): ExecStream;
  /** The agent's status (never secret). */
  status(): Promise<Record<string, unknown>>;
  /** One value as a file descriptor (loads the native door). */
  getFd(key: string, opts?: ProjectOption & { kind?: 'sealed' }): Promise<FdHandle>;
  /** Closes the connection; requests in flight fail with UNAVAILABLE. */
  close(): void;
}

/**
 * Connects to the running agent. UNAVAILABLE when none answers at the socket; INSECURE when
 * the socket (or a directory above it) could have been put there by another user.
 */
export async function connect(opts: ConnectOptions = {}): Promise<SesameClient> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (opts.token !== undefined) env.SESAME_AGENT_TOKEN = opts.token;
  if (opts.delegated !== undefined) env.SESAME_AGENT_DELEGATED = opts.delegated ? '1' : '0';
  let sock: string;
  let project: string;
  try {
    const paths = homePaths(resolveHome(undefined, env), env);
    sock = opts.socket !== undefined ? path.resolve(opts.socket) : paths.agentSock;
    project = opts.project ?? resolveProject(undefined, env, paths).name;
    const c = await connectAgent(sock, env, { serverCheck: 'path' });
    if (!c) throw new SesameError('UNAVAILABLE', `no agent answers at ${sock}`, { hint: 'start one with `sesame agent start`' });
    return new Client(c, sock, env, project);
  } catch (e) {
    api(e);
  }
}

class Client implements SesameClient {
  constructor(
    readonly c: AgentClient,
    readonly sock: string,
    readonly env: NodeJS.ProcessEnv,
    readonly project: string,
  ) {}

  async get(key: string, opts: ProjectOption = {}): Promise<Buffer> {
    checkKey(key);
    return this.c.get(opts.project ?? this.project, key).catch(api);
  }

  async getSelected(opts: ProjectOption & { only?: string[]; prefix?: string } = {}): Promise<{ secrets: Map<string, Buffer>; missing: string[] }> {
    for (const k of opts.only ?? []) checkKey(k);
    const r = await this.c.getSelected(opts.project ?? this.project, { ...(opts.only ? { only: opts.only } : {}), ...(opts.prefix !== undefined ? { prefix: opts.prefix } : {}) }).catch(api);
    return { secrets: new Map(r.secrets), missing: r.missing };
  }

  async list(opts: { project?: string; prefix?: string } = {}): Promise<Array<{ name: string; keys: ListedKey[] }>> {
    return this.c.list(opts.project, opts.prefix).catch(api);
  }

  exec(argv: readonly string[], opts: ExecOptions = {}): ExecStream {
    return startExec((fields, check, o) => this.c.request(fields, check, o), argv, { ...opts, project: opts.project ?? this.project }, api);
  }

  async status(): Promise<Record<string, unknown>> {
    return this.c.status().catch(api);
  }

  async getFd(key: string, opts: ProjectOption & { kind?: 'sealed' } = {}): Promise<FdHandle> {
    checkKey(key);
    try {
      const { getFdFromAgent } = await import('../core/agent/fd-client.js');
      const native = await import('../core/os/native.js');
      const d = getFdFromAgent(this.sock, this.env, opts.project ?? this.project, key, opts.kind ? { kind: opts.kind } : {});
      let open = true;
      const close = (): void => {
        if (open) native.closeDescriptor(d.fd);
        open = false;
      };
      return {
        fd: d.fd,
        kind: d.kind,
        size: d.size,
        read: () => {
          if (!open) throw new SesameApiError(new SesameError('USAGE', 'the descriptor was already read or closed'));
          const out = allocSecret(d.size);
          try {
            native.readMemFd(d.fd, d.size, out);
          } catch (e) {
            out.fill(0);
            close();
            api(e);
          }
          close();
          return out;
        },
        close,
      };
    } catch (e) {
      api(e);
    }
  }

  close(): void {
    this.c.close();
  }
}

function checkKey(key: string): void {
  if (!isValidKeyName(key)) throw new SesameApiError(new SesameError('USAGE', 'not a key name ([A-Za-z_][A-Za-z0-9_]*, at most 256 characters)'));
}

// The shipped declarations (api.d.mts) must describe this module: a mismatch fails the type-check.
// The error codes must be the same set both ways (a code added to the core shows up here).
type Decl = typeof import('./api.d.mts');
type DeclCode = import('./api.d.mts').ErrorCode;
/** Type-level only: `true` when this module's exports match the shipped declarations. */
export type DeclarationsMatch = [typeof connect, typeof EXIT_CODES, SesameClient, SesameApiError, ErrorCode, DeclCode] extends [
  Decl['connect'],
  Decl['EXIT_CODES'],
  import('./api.d.mts').SesameClient,
  import('./api.d.mts').SesameApiError,
  DeclCode,
  ErrorCode,
]
  ? true
  : never;
/** @internal Fails the type-check when the declarations drift (assigning `true` to `never`). */
export const declarationsMatch: DeclarationsMatch = true;
