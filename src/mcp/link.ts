/**
 * The MCP server's one way to the secrets: the agent, over its socket (core/agent/client.ts,
 * protocol version 2). Never the vault file, never a key, never libsodium — this module and
 * everything it loads stay on the client side of the socket.
 *
 * - Which socket: a profile's (`--profile NAME`, the path the agent binds for it: listeners.ts
 *   `profileListener`), else the owner socket (SESAME_AGENT_SOCK or the home's), with the
 *   token from SESAME_AGENT_TOKEN or a 0600 token file (`readTokenFile`). The client's own
 *   checks apply unchanged: the socket and its directory are ours, the server runs as us.
 * - One shared connection for the short ops (status, list, check, get), reopened when it
 *   drops; every `exec` gets its own connection, so that dropping it — the MCP call was
 *   cancelled — makes the agent kill the child's process group (the contract).
 * - The client's declared name (MCP `clientInfo`) travels as the optional request member
 *   `client` ({via:"mcp", name, version}) only when the agent says it takes it (`status`
 *   `features` includes "client"); it is a label for the audit record, never an identity.
 */
import * as fs from 'node:fs';
import { SesameError } from '../core/errors.js';
import type { AgentClient, ListedKey, RequestOptions } from '../core/agent/client.js';
import { isValidKeyName } from '../core/names.js';
import { allocSecret } from '../core/bytes.js';

/** Where and how to reach the agent. */
export interface LinkOptions {
  /** The socket path (profile or owner). */
  readonly socket: string;
  /** Environment for the client (SESAME_AGENT_TOKEN, SESAME_AGENT_DELEGATED are read from it). */
  readonly env: NodeJS.ProcessEnv;
  /** The profile this server speaks for, when any (for messages). */
  readonly profile?: string;
}

/** The declared MCP client (clientInfo), as a label: printable ASCII, at most 64 characters each. */
export interface ClientLabel {
  readonly name: string;
  readonly version: string;
}

/** What `check` answers. */
export interface CheckResult {
  allowed: boolean;
  reason: string | null;
  resolved: string | null;
  keys: string[];
}

/** One command run through the agent: masked output (capped), exit code or signal, masked-hit counts. */
export interface ExecResult {
  stdout: Buffer;
  stderr: Buffer;
  /** Bytes dropped from each stream beyond the cap. */
  cut: { stdout: number; stderr: number };
  code: number | null;
  signal: string | null;
  masked: Record<string, number>;
  /** Keys whose values were too short to mask (the agent's redactor skips them). */
  tooShort: string[];
}

/** How much of each stream run_command keeps: the first HEAD and the last TAIL bytes. */
export const OUTPUT_HEAD = 24 * 1024;
export const OUTPUT_TAIL = 8 * 1024;
/** The most stdin run_command accepts (bytes). */
export const MAX_STDIN = 1024 * 1024;

/** A label safe to send and to record: printable ASCII only, trimmed, at most 64 characters. */
export function labelText(s: unknown): string {
  if (typeof s !== 'string') return '';
  let o = '';
  for (const c of s) if (c >= ' ' && c <= '~') o += c;
  return o.trim().slice(0, 64);
}

/**
 * Reads a token from a file the owner made for this server: a regular file (not a symlink),
 * ours, not readable or writable by group or others, one token line. INSECURE otherwise —
 * a token in a loose file is a token anyone on the machine may have copied.
 */
export function readTokenFile(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SesameError(code === 'ENOENT' ? 'NOT_FOUND' : 'INSECURE', `cannot open the token file ${file} (${code ?? 'error'}${code === 'ELOOP' ? ': it is a symlink' : ''})`, {
      hint: 'write the token to a regular file of yours with mode 0600: (umask 077; sesame token new … > FILE)',
    });
  }
  try {
    const st = fs.fstatSync(fd);
    const me = typeof process.getuid === 'function' ? process.getuid() : st.uid;
    if (!st.isFile() || st.uid !== me || (st.mode & 0o077) !== 0) {
      throw new SesameError('INSECURE', `the token file ${file} is not private to you (${st.isFile() ? `owner uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}` : 'not a regular file'})`, {
        hint: `chmod 600 ${file} (and make sure you own it); then make a new token and revoke the old one, which others may have read`,
      });
    }
    if (st.size > 1024) throw new SesameError('INVALID', `the token file ${file} is larger than a token`, { hint: 'it must hold one token line, as `sesame token new` prints it' });
    const buf = allocSecret(st.size);
    const n = fs.readSync(fd, buf, 0, st.size, 0);
    const text = buf
      .subarray(0, n)
      .toString('latin1')
      .replace(/\r?\n$/, '');
    buf.fill(0);
    if (!/^[\x21-\x7e]{1,512}$/.test(text))
      throw new SesameError('INVALID', `the token file ${file} does not hold one token`, { hint: 'it must hold one token line, as `sesame token new` prints it' });
    return text;
  } finally {
    fs.closeSync(fd);
  }
}

/** The agent, as the MCP server reaches it. */
export class AgentLink {
  readonly #opts: LinkOptions;
  #shared: Promise<AgentClient> | null = null;
  #label: ClientLabel | undefined;
  #acceptsClient = false;
  /** Whether `#acceptsClient` was learned from the agent now answering (reset when the shared connection drops: it may be another agent). */
  #known = false;

  constructor(opts: LinkOptions) {
    this.#opts = opts;
  }

  /** Sets the declared client (from MCP initialize); sent with requests once the agent takes it. */
  setClient(label: ClientLabel | undefined): void {
    this.#label = label;
  }

  async #connect(): Promise<AgentClient> {
    const { connectAgent } = await import('../core/agent/client.js');
    const c = await connectAgent(this.#opts.socket, this.#opts.env);
    if (!c) {
      throw new SesameError('UNAVAILABLE', `no agent answers on ${this.#opts.socket}${this.#opts.profile ? ` (the socket of profile ${this.#opts.profile})` : ''}`, {
        hint: this.#opts.profile
          ? `the owner starts the agent (\`sesame agent start\`), which binds the socket of profile ${this.#opts.profile}; if it runs, it has no profile ${this.#opts.profile} (\`sesame profile list\`)`
          : 'the owner starts the agent: `sesame agent start`',
        detail: { reason: 'no_agent' },
      });
    }
    return c;
  }

  /** The shared connection (opened on first use, reopened after a drop: what the agent takes is learned again). */
  async #client(): Promise<AgentClient> {
    if (!this.#shared) {
      this.#known = false;
      const p = this.#connect();
      this.#shared = p;
      p.catch(() => {
        if (this.#shared === p) this.#shared = null;
      });
    }
    return this.#shared;
  }

  /** Learns (once per agent) whether it takes the `client` member: its `status` `features`. */
  async #learn(c: AgentClient): Promise<void> {
    if (this.#known || !this.#label) return;
    const { checkStatusFrame } = await import('../core/agent/reply-check.js');
    this.#note(await c.request({ op: 'status' }, checkStatusFrame));
  }

  #note(st: Record<string, unknown>): void {
    this.#acceptsClient = Array.isArray(st.features) && (st.features as unknown[]).includes('client');
    this.#known = true;
  }

  /** The label member, when the agent takes one. */
  #clientField(): Record<string, unknown> {
    return this.#acceptsClient && this.#label ? { client: { via: 'mcp', name: this.#label.name, version: this.#label.version } } : {};
  }

  /**
   * One request on the shared connection. A dropped connection is forgotten so that the next
   * call reopens it; a read that cannot have been served (the connection was gone: the agent
   * restarted since the last call) is tried once more on a fresh one. `get` is never retried.
   */
  async #request<T>(fields: Record<string, unknown>, check: (r: Record<string, unknown>) => T, opts?: RequestOptions): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const c = await this.#client();
      if (fields.op !== 'status') {
        try {
          await this.#learn(c);
        } catch (e) {
          // The connection was gone before the request was sent: one fresh try, whatever the op.
          if (!(e instanceof SesameError) || e.code !== 'UNAVAILABLE' || attempt > 0) throw e;
          c.close();
          this.#shared = null;
          continue;
        }
      }
      try {
        return await c.request({ ...fields, ...this.#clientField() }, check, opts);
      } catch (e) {
        if (!(e instanceof SesameError) || (e.code !== 'UNAVAILABLE' && e.code !== 'PROTOCOL')) throw e;
        c.close();
        this.#shared = null;
        if (attempt > 0 || e.code !== 'UNAVAILABLE' || e.detail?.reason !== undefined || fields.op === 'get') throw e;
      }
    }
  }

  /** The agent's status as this caller sees it (never secret). Learns whether the agent takes the `client` label. */
  async status(): Promise<Record<string, unknown>> {
    const { checkStatusFrame } = await import('../core/agent/reply-check.js');
    const st = await this.#request({ op: 'status' }, checkStatusFrame);
    this.#note(st);
    return st;
  }

  /** The ops the agent serves on this listener (from status). */
  async ops(): Promise<string[]> {
    const st = await this.status();
    return Array.isArray(st.ops) ? (st.ops as unknown[]).filter((x): x is string => typeof x === 'string') : [];
  }

  /** Names and metadata in scope, never values. */
  async list(project?: string, prefix?: string): Promise<Array<{ name: string; keys: ListedKey[] }>> {
    const { checkListFrame } = await import('../core/agent/reply-check.js');
    return this.#request({ op: 'list', ...(project !== undefined ? { project } : {}), ...(prefix !== undefined ? { prefix } : {}) }, (r) => checkListFrame(r, project, prefix));
  }

  /** The agent's allow/deny decision for an exec or a get; nothing is run or read, nothing audited. */
  async check(fields: { what: 'exec'; project: string; argv: string[] } | { what: 'get'; project: string; key: string }): Promise<CheckResult> {
    return this.#request({ op: 'check', ...fields }, checkCheckFrame);
  }

  /** One value (the caller wipes the Buffer). `onPending` is told of every approval wait. */
  async get(project: string, key: string, onPending: (frame: Readonly<Record<string, unknown>>) => void): Promise<Buffer> {
    const { checkGetFrame } = await import('../core/agent/reply-check.js');
    return this.#request({ op: 'get', project, key }, checkGetFrame, {
      onFrame: (f) => {
        if (f.frame === 'pending') onPending(f);
      },
    });
  }

  /**
   * Runs a command through the agent's `exec` on a connection of its own (closed at the end,
   * or when `signal` aborts: the agent then kills the child's process group). `stdin`, when
   * given, is sent as `input` requests naming the exec's id (the client's `onId`), then eof. Output arrives
   * masked by the agent; each stream keeps its first OUTPUT_HEAD and last OUTPUT_TAIL bytes.
   */
  async exec(
    req: { project: string; argv: string[]; cwd?: string; stdin?: Buffer; timeoutS?: number },
    opts: { signal?: AbortSignal; onPending(frame: Readonly<Record<string, unknown>>): void },
  ): Promise<ExecResult> {
    const c = await this.#connect();
    try {
      await this.#learn(c);
    } catch (e) {
      c.close();
      throw e;
    }
    const out = { stdout: new Capped(), stderr: new Capped() };
    const onAbort = (): void => {
      c.close();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const fields = {
        op: 'exec',
        project: req.project,
        argv: req.argv,
        ...(req.cwd !== undefined ? { cwd: req.cwd } : {}),
        ...(req.stdin !== undefined ? { stdin: true } : {}),
        ...(req.timeoutS !== undefined ? { timeout_s: req.timeoutS } : {}),
        ...this.#clientField(),
      };
      let id: number | undefined;
      const done = c.request(fields, checkExitFrame, {
        exit: true,
        timeoutMs: ((req.timeoutS ?? 600) + 30) * 1000,
        onId: (n) => {
          id = n;
        },
        onFrame: (f) => {
          if (f.frame === 'pending') opts.onPending(f);
          else if (f.frame === 'chunk') {
            if ((f.stream !== 'stdout' && f.stream !== 'stderr') || typeof f.data !== 'string') throw proto('a chunk frame needs stream stdout or stderr and data');
            out[f.stream].push(Buffer.from(f.data, 'base64'));
          }
        },
      });
      if (req.stdin !== undefined && id !== undefined) {
        const ref = id;
        const ok = (): true => true;
        const feed = async (): Promise<void> => {
          for (let i = 0; i < req.stdin!.length; i += 48 * 1024) {
            await c.request({ op: 'input', ref, data: req.stdin!.subarray(i, i + 48 * 1024).toString('base64') }, ok);
          }
          await c.request({ op: 'input', ref, eof: true }, ok);
        };
        // A child that exits without reading its input ends the exec first: the input's refusal is not the answer.
        feed().catch(() => {});
      }
      const end = await done;
      return { stdout: out.stdout.bytes(), stderr: out.stderr.bytes(), cut: { stdout: out.stdout.dropped, stderr: out.stderr.dropped }, ...end };
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      c.close();
    }
  }

  /** Closes the shared connection. */
  close(): void {
    const p = this.#shared;
    this.#shared = null;
    p?.then(
      (c) => {
        c.close();
      },
      () => {},
    );
  }
}

/** Keeps the first OUTPUT_HEAD and the last OUTPUT_TAIL bytes of a stream, counting what it drops. */
class Capped {
  #head: Buffer[] = [];
  #headLen = 0;
  #tail: Buffer = Buffer.alloc(0);
  dropped = 0;

  push(b: Buffer): void {
    if (this.#headLen < OUTPUT_HEAD) {
      const take = b.subarray(0, OUTPUT_HEAD - this.#headLen);
      this.#head.push(take);
      this.#headLen += take.length;
      b = b.subarray(take.length);
    }
    if (!b.length) return;
    const all = Buffer.concat([this.#tail, b]);
    this.dropped += Math.max(0, all.length - OUTPUT_TAIL);
    this.#tail = all.subarray(Math.max(0, all.length - OUTPUT_TAIL));
  }

  bytes(): Buffer {
    return Buffer.concat([...this.#head, this.#tail]);
  }
}

/** The `ok` frame of `check`. */
function checkCheckFrame(r: Record<string, unknown>): CheckResult {
  if (typeof r.allowed !== 'boolean') throw proto('"allowed" is not a boolean');
  const reason = r.reason ?? null;
  const resolved = r.resolved ?? null;
  if (reason !== null && (typeof reason !== 'string' || !/^[a-z0-9_:.-]{1,64}$/.test(reason))) throw proto('"reason" is not a short code');
  if (resolved !== null && typeof resolved !== 'string') throw proto('"resolved" is not a path');
  const keys = r.keys ?? [];
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw proto('"keys" is not a list of names');
  return { allowed: r.allowed, reason: reason, resolved: resolved, keys: keys };
}

/** The final `exit` frame of `exec`: a code or a signal, and the masked-hit counts. */
function checkExitFrame(r: Record<string, unknown>): { code: number | null; signal: string | null; masked: Record<string, number>; tooShort: string[] } {
  if (r.frame !== 'exit') throw proto(`exec ended with a "${String(r.frame)}" frame, not "exit"`);
  const code = r.code ?? null;
  const signal = r.signal ?? null;
  if (code !== null && !Number.isSafeInteger(code)) throw proto('"code" is not a whole number');
  if (signal !== null && (typeof signal !== 'string' || !/^SIG[A-Z0-9]{1,12}$/.test(signal))) throw proto('"signal" is not a signal name');
  const masked: Record<string, number> = {};
  if (r.masked !== undefined) {
    if (typeof r.masked !== 'object' || r.masked === null || Array.isArray(r.masked)) throw proto('"masked" is not an object');
    for (const [k, v] of Object.entries(r.masked)) {
      if (!isValidKeyName(k) || !Number.isSafeInteger(v)) throw proto('"masked" is not a map of key names to counts');
      masked[k] = v as number;
    }
  }
  const tooShort = Array.isArray(r.too_short) ? r.too_short.filter((k): k is string => typeof k === 'string' && isValidKeyName(k)) : [];
  if (code === null && signal === null) throw proto('an exit frame needs code or signal');
  return { code: code as number | null, signal, masked, tooShort };
}

function proto(what: string): SesameError {
  return new SesameError('PROTOCOL', `the agent's reply was refused and not used: ${what}`, { remedy: 'agent_upgrade', detail: { reason: 'bad_reply' } });
}
