/**
 * The agent client: what `get`, `env`, `run`, `status`, `agent stop` and `lock` use to talk
 * to a running agent (docs/spec/agent-protocol.md).
 *
 * Cheap by design: node:net and node:fs, plus one getsockopt through the native door (koffi,
 * loaded lazily, only once a socket answered) — this path never loads libsodium, never
 * prompts and never runs Argon2id. `connectAgent` returns null quickly (≤ 1 s, at once in
 * the usual cases) when nothing listens, so callers fall back to a direct unlock.
 *
 * Security — a reply is data from another process, trusted no more than a request is:
 * - Before connecting, the socket must be ours and sit in a private directory: a socket
 *   planted by another user (e.g. a SESAME_AGENT_SOCK in a shared place) is refused with
 *   INSECURE instead of trusted with our requests or its answers.
 * - The path is checked and then connected by name, so a directory above it that another
 *   user can write could swap it in between. After connecting and before sending anything,
 *   the kernel's peer credentials (SO_PEERCRED) of the *server* must show our uid;
 *   otherwise INSECURE (root included: root's agent runs as root).
 * - The client speaks protocol version 2 (docs/spec/agent-protocol.md, Part 2): several
 *   requests may be in flight on one connection, each with its own id, per-op timeout
 *   (OP_TIMEOUT_MS) and final frame; `request()` is the streaming API. An agent that speaks
 *   only version 1 answers with its version error, which the caller gets as is.
 * - Every frame is checked against the request it answers (reply-check.ts): the echoed id,
 *   the exact field set, key names, project-free `missing` lists within what was asked,
 *   canonical base64. Anything else is PROTOCOL — never output — and the connection is
 *   dropped; Buffers decoded from a refused reply are wiped.
 * - Values arrive base64 and are decoded byte by byte into Buffers (secret-json.ts); they
 *   never become strings here either. Callers wipe the Buffers they get.
 * - An error from the agent is rebuilt as the same SesameError ({code, message, hint,
 *   detail}); a denied peer therefore gets DENIED (exit 8).
 * - Tokens: with SESAME_AGENT_TOKEN set, every request carries it as `token` (never printed,
 *   never on argv; `run`'s child does not inherit it, exec.ts drops SESAME_*).
 * - Delegated sockets (listeners.ts CLIENT_TRUST, `profile`): inside a container or sandbox
 *   the profile socket was bind-mounted by its owner and is served by another uid, so the two
 *   ownership checks above cannot hold. With SESAME_AGENT_DELEGATED=1 (what `profile mount`
 *   prints) the client trusts the path it was given: it skips them, and sends no `pid` (its
 *   pid namespace is not the agent's). It still sends only requests and its token — never a
 *   passphrase — and still checks every reply. Set it only where the socket path is the trust.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { SesameError } from '../errors.js';
import type { Selection } from '../vault/vault.js';
import { peerCred } from '../os/native.js';
import { parseJsonSecrets } from './secret-json.js';
import { LineSplitter } from './line-splitter.js';
import { allocSecret } from '../bytes.js';
import { MAX_SOCKET_PATH, valueAfter } from './protocol.js';
import { socketDirHint } from './socket.js';
import {
  badReply,
  checkError,
  checkErrorFrame,
  checkGetFrame,
  checkListFrame,
  checkPendingFrame,
  checkSelectedFrame,
  checkStatusFrame,
  checkStopFrame,
  classify,
  type ListedKey,
  type Reply,
} from './reply-check.js';

export type { ListedKey } from './reply-check.js';

export interface AgentStatus {
  schema: number;
  running: boolean;
  accessible: boolean;
  pid?: number;
  socket: string;
  [k: string]: unknown;
}

export interface AgentClient {
  /** `opts.onFrame` sees intermediate frames (a `pending` approval wait). */
  get(project: string, key: string, opts?: RequestOptions): Promise<Buffer>;
  getSelected(project: string, sel: Selection, opts?: RequestOptions): Promise<{ secrets: Array<[string, Buffer]>; missing: string[] }>;
  status(): Promise<AgentStatus>;
  /** Names and metadata (never values) of what this caller may see: every project, or one; keys starting with `prefix`. */
  list(project?: string, prefix?: string): Promise<Array<{ name: string; keys: ListedKey[] }>>;
  /** Asks the agent to stop; resolves once it has cleaned up and closed the connection. */
  stop(): Promise<void>;
  /** The streaming API (version 2): see Client.request. */
  request<T>(fields: Record<string, unknown>, check: (r: Reply) => T, opts?: RequestOptions): Promise<T>;
  close(): void;
}

/** Options of one streaming request. */
export interface RequestOptions {
  /** Fail with UNAVAILABLE after this many ms without the final frame (default: the op's, OP_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Called with the request's id as soon as it is sent (control requests such as exec's `input` name it in `ref`). */
  onId?(id: number): void;
  /** Called with every intermediate frame (`pending`, `chunk`, or a type this client does not know), in order. */
  onFrame?(frame: Readonly<Reply>): void;
  /**
   * A secret sent as the request's last member, `"value":"<base64>"`, encoded byte by byte into
   * an off-heap line that is wiped once written (protocol.ts `valueAfter`); never a JS string.
   * The caller still owns and wipes `value` itself.
   */
  value?: Buffer;
  /** Like `value`, for several: builds the whole line off-heap from the head without its closing brace (e.g. write-wire.ts `entriesAfter`); the line is wiped once written. */
  tail?: (open: string) => Buffer;
  /** The op ends with an `exit` frame (exec): `check` gets it as it gets an `ok` frame. */
  exit?: boolean;
}

/** Per-op timeouts, ms: how long the client waits for the final frame (a `pending` frame extends it). */
export const OP_TIMEOUT_MS: Readonly<Record<string, number>> = { get: 30_000, getselected: 30_000, list: 30_000, status: 10_000, stop: 10_000 };

const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Connects to a live agent; null when none is listening at `sock`. INSECURE if the socket
 * is not ours, or if the process that answers on it does not run as our uid (then nothing
 * was sent to it).
 */
export async function connectAgent(sock: string, env: NodeJS.ProcessEnv, opts: ConnectOptions = {}): Promise<AgentClient | null> {
  const token = agentToken(env);
  const delegated = env.SESAME_AGENT_DELEGATED === '1';
  if (Buffer.byteLength(sock) > MAX_SOCKET_PATH || !(delegated ? isSocket(sock) : socketLooksOurs(sock))) return null;
  // Replies are read straight into one off-heap buffer (`onread`), wiped after each read: no
  // copy of a reply is left behind in memory Node allocated and freed for a read (measured:
  // base64 of values in a long-lived API program, test/e2e/fd-api-memory.test.ts).
  const reader = new ReadSink();
  const s = await new Promise<net.Socket | null>((resolve) => {
    const c = net.createConnection({ path: sock, onread: reader.onread() });
    const t = setTimeout(() => {
      finish(null);
    }, CONNECT_TIMEOUT_MS);
    const finish = (r: net.Socket | null): void => {
      clearTimeout(t);
      c.removeAllListeners('connect').removeAllListeners('error');
      if (!r) c.destroy();
      resolve(r);
    };
    c.once('connect', () => {
      finish(c);
    });
    c.once('error', () => {
      finish(null);
    });
  });
  if (!s) return null;
  try {
    if (!delegated) {
      if (opts.serverCheck === 'path') checkPathChain(sock);
      else checkServer(s, sock);
    }
  } catch (e) {
    s.destroy();
    throw e;
  }
  return new Client(s, token, !delegated, reader);
}

/** A socket's reads into one off-heap buffer: each read is handed to the sink, then wiped. */
class ReadSink {
  readonly #buf = allocSecret(64 * 1024);
  #sink: ((chunk: Buffer) => void) | undefined;
  #early: Buffer[] = [];

  onread(): { buffer: Buffer; callback: (n: number, buf: Buffer) => boolean } {
    return {
      buffer: this.#buf,
      callback: (n, buf) => {
        const view = buf.subarray(0, n);
        try {
          if (this.#sink) this.#sink(view);
          else {
            // Nothing is read before the client exists (the agent speaks only when asked); kept anyway.
            const copy = allocSecret(n);
            view.copy(copy);
            this.#early.push(copy);
          }
        } finally {
          view.fill(0);
        }
        return true;
      },
    };
  }

  /** Starts delivering reads to `sink` (after any that came first). */
  attach(sink: (chunk: Buffer) => void): void {
    this.#sink = sink;
    for (const b of this.#early.splice(0)) {
      try {
        sink(b);
      } finally {
        b.fill(0);
      }
    }
  }

  /** Wipes the read buffer (the connection is closed). */
  wipe(): void {
    this.#buf.fill(0);
    for (const b of this.#early.splice(0)) b.fill(0);
  }
}

/** How `connectAgent` makes sure the agent is ours. */
export interface ConnectOptions {
  /**
   * `kernel` (default): SO_PEERCRED of the server after connecting (loads koffi, the native
   * door). `path`: no native call — every directory from `/` down to the socket's must be
   * owned by root or us and writable by nobody else (a sticky one may be, the next entry
   * being ours): then no other user can have swapped the socket, which is what the kernel
   * check rules out. The Node API uses `path`, so a program that never asks for a descriptor
   * never loads a native addon.
   */
  serverCheck?: 'kernel' | 'path';
}

/** INSECURE unless no other user can replace `sock` or a directory above it (see ConnectOptions `path`). */
function checkPathChain(sock: string): void {
  if (typeof process.getuid !== 'function') return;
  const me = process.getuid();
  const dirs: string[] = [];
  // The real directories (residual: the directory holding a symbolic link on the given path is not checked).
  for (let d = fs.realpathSync(path.dirname(path.resolve(sock))); ; d = path.dirname(d)) {
    dirs.unshift(d);
    if (d === path.dirname(d)) break;
  }
  let stickyAbove = false;
  for (const d of dirs) {
    const st = fs.lstatSync(d);
    const mine = st.uid === me || st.uid === 0;
    if (!mine && !(stickyAbove && st.uid === me)) {
      throw new SesameError('INSECURE', `the directory ${d} above the agent socket belongs to uid ${st.uid}: another user could replace the socket`, {
        hint: 'keep the agent socket under directories only you (or root) own',
      });
    }
    const othersWrite = (st.mode & 0o022) !== 0;
    if (othersWrite && (st.mode & 0o1000) === 0) {
      throw new SesameError('INSECURE', `the directory ${d} above the agent socket is writable by other users`, { hint: 'keep every directory on the socket path writable only by you' });
    }
    stickyAbove = othersWrite;
  }
}

/** True when `sock` is a socket (a delegated client checks nothing else about the path). */
export function isSocket(sock: string): boolean {
  try {
    return fs.statSync(sock).isSocket();
  } catch {
    return false;
  }
}

/**
 * SESAME_AGENT_TOKEN, when set and well-formed (1–512 printable ASCII characters, what the
 * agent accepts): sent as `token` with every request. Never printed, never on argv; `run`'s
 * child never inherits it (exec.ts drops every SESAME_* variable). A malformed value is
 * refused (USAGE) without quoting it. Residual: it is a JS string in this short-lived process.
 */
export function agentToken(env: NodeJS.ProcessEnv): string | undefined {
  const t = env.SESAME_AGENT_TOKEN;
  if (t === undefined || t === '') return undefined;
  if (t.length > 512 || !/^[\x21-\x7e]+$/.test(t)) {
    throw new SesameError('USAGE', 'SESAME_AGENT_TOKEN is not a token (1 to 512 printable characters, no spaces)', { hint: 'set it to the token the owner made for you, or unset it' });
  }
  return t;
}

/**
 * The kernel's word on who serves the connection: its uid must be ours. Fails closed — no
 * fd or no answer from the kernel is INSECURE too. Skipped only where there are no uids.
 */
function checkServer(s: net.Socket, sock: string): void {
  if (typeof process.getuid !== 'function') return;
  const me = process.getuid();
  const fd = (s as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  let uid: number;
  let pid: number | null;
  try {
    if (typeof fd !== 'number' || fd < 0) throw new Error('no file descriptor');
    ({ uid, pid } = peerCred(fd));
  } catch {
    throw new SesameError('INSECURE', `cannot verify which user serves the agent socket ${sock}: the kernel did not report the peer's credentials`, {
      hint: 'use --no-agent (or SESAME_NO_AGENT=1) to read the vault directly',
    });
  }
  if (uid !== me) {
    throw new SesameError('INSECURE', `the process serving the agent socket ${sock} runs as uid ${uid} (pid ${String(pid)}), not as you (uid ${me}): it is not your agent; nothing was sent to it`, {
      hint: 'something replaced the socket or a directory above it: stop that process, remove the socket, keep every directory on the path writable only by you; --no-agent bypasses the agent',
      detail: { socket: sock, server_uid: uid, server_pid: pid, uid: me },
    });
  }
}

/** false when nothing is there; throws INSECURE when what is there is not ours. */
export function socketLooksOurs(sock: string): boolean {
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

/** One v2 request in flight on this client's connection. */
interface Flight {
  check(r: Reply): unknown;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  onFrame: ((frame: Readonly<Reply>) => void) | undefined;
  exit: boolean;
  timer: NodeJS.Timeout | undefined;
  ms: number;
}

class Client implements AgentClient {
  #sock: net.Socket;
  #split = new LineSplitter(MAX_RESPONSE_BYTES, { copyRest: true });
  #flights = new Map<number, Flight>();
  #closed = false;
  #onClose: Array<() => void> = [];
  #nextId = 1;

  readonly #token: string | undefined;
  readonly #sendPid: boolean;

  constructor(sock: net.Socket, token: string | undefined, sendPid: boolean, reader: ReadSink) {
    this.#sock = sock;
    this.#token = token;
    this.#sendPid = sendPid;
    // Lines are parsed and wiped synchronously (#onLine), before the read buffer is reused.
    reader.attach((chunk: Buffer) => {
      const { lines, oversize } = this.#split.push(chunk);
      for (const l of lines) this.#onLine(l);
      if (oversize) this.#abort(badReply(`a frame is over ${MAX_RESPONSE_BYTES} bytes`));
    });
    sock.on('close', () => {
      reader.wipe();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.#closed = true;
      this.#split.wipe();
      this.#failAll(gone());
      for (const f of this.#onClose.splice(0)) f();
    });
  }

  /**
   * Routes one received line to the request it answers. A frame for an id not in flight, a
   * line that is neither a v2 frame nor a v1-form error, or a frame that breaks its op's
   * shape is a PROTOCOL error for every request in flight, and the connection is dropped.
   * Every `value` Buffer decoded from the line that is not handed to a caller is wiped.
   */
  #onLine(line: Buffer): void {
    let doc: unknown;
    let secrets: Buffer[] = [];
    try {
      ({ doc, secrets } = parseJsonSecrets(line));
    } catch {
      this.#abort(badReply('it is not well-formed JSON (or a value is not canonical base64, or a member name repeats)'));
      return;
    } finally {
      line.fill(0);
    }
    try {
      this.#route(doc, secrets);
    } catch (e) {
      for (const b of secrets) b.fill(0);
      this.#abort(e);
    }
  }

  /**
   * Delivers one checked line. Unknown members are ignored (Part 2, rule 4), but a `value`
   * (always a secret) anywhere but where the op's `ok` frame puts one is refused.
   */
  #route(doc: unknown, secrets: readonly Buffer[]): void {
    const none = (): void => {
      if (secrets.length) throw badReply('a value came where none belongs');
    };
    const got = classify(doc);
    if (got.kind === 'v1') {
      none();
      const err = checkError(got.r);
      if (got.id === undefined) {
        // A connection-level error (oversize, deadline, shutdown): the end of every request in flight.
        this.#failAll(err);
        this.close();
        return;
      }
      // An agent that does not speak version 2 answers with a v1 error carrying our id.
      this.#settle(this.#flightOf(got.id), (f) => {
        f.reject(err);
      });
      return;
    }
    const f = this.#flightOf(got.id);
    if (!got.final) {
      none();
      if (got.frame === 'pending') {
        const extra = checkPendingFrame(got.r);
        if (extra) this.#arm(f, f.ms + extra);
      }
      f.onFrame?.(got.r);
      return;
    }
    if (got.frame === 'error') {
      none();
      const err = checkErrorFrame(got.r);
      this.#settle(f, (x) => {
        x.reject(err);
      });
      return;
    }
    if (got.frame !== 'ok' && !(got.frame === 'exit' && f.exit)) throw badReply(`a "${got.frame}" frame answers an op that never sends one`);
    const result = f.check(got.r);
    const mine = new Set<Buffer>(Buffer.isBuffer(result) ? [result] : ((result as { secrets?: Array<[string, Buffer]> } | undefined)?.secrets?.map(([, b]) => b) ?? []));
    if (secrets.some((b) => !mine.has(b))) throw badReply('a value came where none belongs');
    this.#settle(f, (x) => {
      x.resolve(result);
    });
  }

  #flightOf(id: number | string | null): Flight {
    const f = typeof id === 'number' ? this.#flights.get(id) : undefined;
    if (!f) throw badReply('it does not carry the id of a request in flight');
    return f;
  }

  #settle(f: Flight, how: (f: Flight) => void): void {
    clearTimeout(f.timer);
    for (const [id, x] of this.#flights) if (x === f) this.#flights.delete(id);
    how(f);
  }

  #failAll(e: unknown): void {
    const all = [...this.#flights.values()];
    this.#flights.clear();
    for (const f of all) {
      clearTimeout(f.timer);
      f.reject(e);
    }
  }

  /** A protocol violation: every request in flight fails with it, the connection is dropped. */
  #abort(e: unknown): void {
    this.#failAll(e);
    this.close();
  }

  #arm(f: Flight, ms: number): void {
    clearTimeout(f.timer);
    // Node's timers take at most 2^31 − 1 ms; a longer wait would fire at once.
    ms = Math.min(ms, MAX_TIMER_MS);
    f.ms = ms;
    f.timer = setTimeout(() => {
      // The protocol has no per-request cancel yet: closing the connection is how a request is
      // cancelled on the agent's side (which also ends the other requests on it).
      this.#abort(new SesameError('UNAVAILABLE', `the agent did not answer within ${Math.ceil(ms / 1000)} s`, { remedy: 'agent_status' }));
    }, ms);
  }

  /**
   * The streaming API: sends one version-2 request (`fields` holds `op` and its members; `v`,
   * `id` and `pid` are added) and resolves with what `check` makes of its final `ok` frame.
   * Intermediate frames go to `opts.onFrame` (envelope checked; a `pending` frame's
   * `expires_in_s` extends the timeout). An `error` frame rejects with the agent's error
   * rebuilt; a broken frame rejects with PROTOCOL and drops the connection. Several requests
   * may be in flight at once; their frames are routed by id.
   */
  request<T>(fields: Record<string, unknown>, check: (r: Reply) => T, opts: RequestOptions = {}): Promise<T> {
    if (this.#closed) return Promise.reject(gone());
    const id = this.#nextId++;
    const op = String(fields.op);
    return new Promise<T>((resolve, reject) => {
      const f: Flight = {
        check,
        resolve: (v) => {
          resolve(v as T);
        },
        reject,
        onFrame: opts.onFrame
          ? (fr) => {
              opts.onFrame?.(fr);
            }
          : undefined,
        exit: opts.exit === true,
        timer: undefined,
        ms: 0,
      };
      this.#flights.set(id, f);
      opts.onId?.(id);
      this.#arm(f, opts.timeoutMs ?? OP_TIMEOUT_MS[op] ?? REQUEST_TIMEOUT_MS);
      const head = JSON.stringify({ v: 2, id, ...fields, ...(this.#sendPid ? { pid: process.pid } : {}), ...(this.#token !== undefined ? { token: this.#token } : {}) });
      const tail = opts.value ? (open: string): Buffer => valueAfter(open, opts.value!) : opts.tail;
      if (tail) {
        const line = tail(head.slice(0, -1));
        this.#sock.write(line, () => line.fill(0));
      } else this.#sock.write(`${head}\n`);
    });
  }

  get(project: string, key: string, opts?: RequestOptions): Promise<Buffer> {
    return this.request({ op: 'get', project, key }, checkGetFrame, opts);
  }

  getSelected(project: string, sel: Selection, opts?: RequestOptions): Promise<{ secrets: Array<[string, Buffer]>; missing: string[] }> {
    const req = { op: 'getselected', project, ...(sel.only ? { only: sel.only } : {}), ...(sel.prefix !== undefined ? { prefix: sel.prefix } : {}) };
    return this.request(req, (r) => checkSelectedFrame(r, sel), opts);
  }

  list(project?: string, prefix?: string): Promise<Array<{ name: string; keys: ListedKey[] }>> {
    const req = { op: 'list', ...(project !== undefined ? { project } : {}), ...(prefix !== undefined ? { prefix } : {}) };
    return this.request(req, (r) => checkListFrame(r, project, prefix));
  }

  async status(): Promise<AgentStatus> {
    const st = await this.request({ op: 'status' }, checkStatusFrame);
    return { ...st, schema: 1, running: true, accessible: true, socket: typeof st.socket === 'string' ? st.socket : (this.#sock.remoteAddress ?? '') };
  }

  async stop(): Promise<void> {
    await this.request({ op: 'stop' }, checkStopFrame);
    if (this.#closed) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5000);
      this.#onClose.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  close(): void {
    this.#closed = true;
    this.#sock.destroy();
    this.#split.wipe();
  }
}

function gone(): SesameError {
  return new SesameError('UNAVAILABLE', 'the agent closed the connection before answering', { remedy: 'agent_status' });
}
