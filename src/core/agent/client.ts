/**
 * The agent client: what `get`, `env`, `run`, `status`, `agent stop` and `lock` use to talk
 * to a running agent (docs/spec/agent-protocol.md).
 *
 * Cheap by design: node:net and node:fs only — this path never loads libsodium or koffi,
 * never prompts and never runs Argon2id. `connectAgent` returns null quickly (≤ 1 s, at
 * once in the usual cases) when nothing listens, so callers fall back to a direct unlock.
 *
 * Security:
 * - Before connecting, the socket must be ours and sit in a private directory: a socket
 *   planted by another user (e.g. a SESAME_AGENT_SOCK in a shared place) is refused with
 *   INSECURE instead of trusted with our requests or its answers.
 * - Values arrive base64 and are decoded byte by byte into Buffers (jsonbytes.ts); they
 *   never become strings here either. Callers wipe the Buffers they get.
 * - An error from the agent is rebuilt as the same SesameError ({code, message, hint,
 *   detail}); a denied peer therefore gets DENIED (exit 8).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { SesameError, isErrorCode } from '../errors.js';
import type { Selection } from '../vault/vault.js';
import { parseJsonBytes } from './jsonbytes.js';
import { LineSplitter } from './lines.js';
import { MAX_SOCKET_PATH, PROTOCOL_VERSION } from './protocol.js';
import { socketDirHint } from './socket.js';

export interface AgentStatus {
  schema: number;
  running: boolean;
  accessible: boolean;
  pid?: number;
  socket: string;
  [k: string]: unknown;
}

export interface AgentClient {
  get(project: string, key: string): Promise<Buffer>;
  getSelected(project: string, sel: Selection): Promise<{ secrets: Array<[string, Buffer]>; missing: string[] }>;
  status(): Promise<AgentStatus>;
  /** Asks the agent to stop; resolves once it has cleaned up and closed the connection. */
  stop(): Promise<void>;
  close(): void;
}

const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 30_000;

/** Connects to a live agent; null when none is listening at `sock`. INSECURE if the socket is not ours. */
export async function connectAgent(sock: string, env: NodeJS.ProcessEnv): Promise<AgentClient | null> {
  void env; // reserved: tokens (SESAME_AGENT_TOKEN) travel with requests in a later protocol version
  if (Buffer.byteLength(sock) > MAX_SOCKET_PATH || !socketLooksOurs(sock)) return null;
  const s = await new Promise<net.Socket | null>((resolve) => {
    const c = net.createConnection({ path: sock });
    const t = setTimeout(() => finish(null), CONNECT_TIMEOUT_MS);
    const finish = (r: net.Socket | null): void => {
      clearTimeout(t);
      c.removeAllListeners('connect').removeAllListeners('error');
      if (!r) c.destroy();
      resolve(r);
    };
    c.once('connect', () => finish(c));
    c.once('error', () => finish(null));
  });
  return s ? new Client(s) : null;
}

/** false when nothing is there; throws INSECURE when what is there is not ours. */
function socketLooksOurs(sock: string): boolean {
  let st: fs.Stats;
  let dir: fs.Stats;
  try {
    st = fs.lstatSync(sock);
    dir = fs.statSync(path.dirname(sock));
  } catch {
    return false;
  }
  if (!st.isSocket()) return false;
  const me = typeof process.getuid === 'function' ? process.getuid() : -1;
  if (me >= 0 && (st.uid !== me || dir.uid !== me || (dir.mode & 0o077) !== 0)) {
    throw new SesameError('INSECURE', `the agent socket ${sock} is not private to you (socket uid ${st.uid}, directory uid ${dir.uid} mode ${(dir.mode & 0o777).toString(8)})`, {
      hint: st.uid === me ? `${socketDirHint(sock)}; --no-agent bypasses the agent` : 'remove it, or point SESAME_AGENT_SOCK at a socket in a 0700 directory you own; --no-agent bypasses the agent',
    });
  }
  return true;
}

type Waiter = { resolve: (line: Buffer) => void; reject: (e: SesameError) => void };

class Client implements AgentClient {
  #sock: net.Socket;
  #split = new LineSplitter(MAX_RESPONSE_BYTES);
  #waiters: Waiter[] = [];
  #early: Buffer[] = [];
  #closed = false;
  #onClose: Array<() => void> = [];

  constructor(sock: net.Socket) {
    this.#sock = sock;
    sock.on('data', (chunk: Buffer) => {
      const { lines, oversize } = this.#split.push(chunk);
      for (const l of lines) this.#deliver(l);
      if (oversize) sock.destroy();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.#closed = true;
      this.#split.wipe();
      for (const w of this.#waiters.splice(0)) w.reject(gone());
      for (const f of this.#onClose.splice(0)) f();
    });
  }

  #deliver(line: Buffer): void {
    const w = this.#waiters.shift();
    if (w) w.resolve(line);
    else this.#early.push(line);
  }

  async #request(fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (!this.#closed) this.#sock.write(`${JSON.stringify({ v: PROTOCOL_VERSION, ...fields, pid: process.pid })}\n`);
    const line = this.#early.shift() ?? (await this.#next());
    let resp: unknown;
    try {
      resp = parseJsonBytes(line);
    } catch {
      throw malformed();
    } finally {
      line.fill(0);
    }
    const o = resp !== null && typeof resp === 'object' && !Array.isArray(resp) ? (resp as Record<string, unknown>) : {};
    if (o.ok === true) return o;
    throw rebuild(o.error);
  }

  #next(): Promise<Buffer> {
    if (this.#closed) return Promise.reject(gone());
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        reject(new SesameError('UNAVAILABLE', `the agent did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`, { hint: 'see `sesame agent status`; --no-agent bypasses it' }));
        this.#sock.destroy();
      }, REQUEST_TIMEOUT_MS);
      this.#waiters.push({
        resolve: (l) => (clearTimeout(t), resolve(l)),
        reject: (e) => (clearTimeout(t), reject(e)),
      });
    });
  }

  async get(project: string, key: string): Promise<Buffer> {
    const r = await this.#request({ op: 'get', project, key });
    if (!Buffer.isBuffer(r.value)) throw malformed();
    return r.value;
  }

  async getSelected(project: string, sel: Selection): Promise<{ secrets: Array<[string, Buffer]>; missing: string[] }> {
    const r = await this.#request({ op: 'getselected', project, ...(sel.only ? { only: sel.only } : {}), ...(sel.prefix !== undefined ? { prefix: sel.prefix } : {}) });
    const secrets: Array<[string, Buffer]> = [];
    const list = Array.isArray(r.secrets) ? (r.secrets as unknown[]) : [];
    for (const e of list) {
      const { key, value } = (e ?? {}) as { key?: unknown; value?: unknown };
      if (Buffer.isBuffer(value) && typeof key === 'string') secrets.push([key, value]);
      else {
        for (const [, v] of secrets) v.fill(0);
        throw malformed();
      }
    }
    const missing = Array.isArray(r.missing) ? r.missing.filter((m): m is string => typeof m === 'string') : [];
    return { secrets, missing };
  }

  async status(): Promise<AgentStatus> {
    const r = await this.#request({ op: 'status' });
    const st = (r.status ?? {}) as Record<string, unknown>;
    return { ...st, schema: 1, running: true, accessible: true, socket: String(st.socket ?? this.#sock.remoteAddress ?? '') };
  }

  async stop(): Promise<void> {
    await this.#request({ op: 'stop' });
    if (this.#closed) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5000);
      this.#onClose.push(() => (clearTimeout(t), resolve()));
    });
  }

  close(): void {
    this.#sock.destroy();
    this.#split.wipe();
    for (const l of this.#early.splice(0)) l.fill(0);
  }
}

function gone(): SesameError {
  return new SesameError('UNAVAILABLE', 'the agent closed the connection before answering', { hint: 'see `sesame agent status`; --no-agent bypasses the agent' });
}

function malformed(): SesameError {
  return new SesameError('PROTOCOL', 'the agent sent a malformed response', { hint: 'restart the agent with the same sesame version as the client' });
}

function rebuild(err: unknown): SesameError {
  const e = (err ?? {}) as { code?: unknown; message?: unknown; hint?: unknown; detail?: unknown };
  const code = isErrorCode(e.code) ? e.code : 'PROTOCOL';
  const message = typeof e.message === 'string' ? e.message : 'the agent reported an error without a message';
  const opts: { hint?: string; detail?: Record<string, unknown> } = {};
  if (typeof e.hint === 'string') opts.hint = e.hint;
  if (e.detail && typeof e.detail === 'object' && !Array.isArray(e.detail)) opts.detail = e.detail as Record<string, unknown>;
  return new SesameError(code, message, opts);
}
