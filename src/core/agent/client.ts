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
 * - Every reply is checked against the request it answers (reply-check.ts): the echoed id,
 *   the exact field set, key names, project-free `missing` lists within what was asked,
 *   canonical base64. Anything else is PROTOCOL — never output — and the connection is
 *   dropped; Buffers decoded from a refused reply are wiped.
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
import { peerCred } from '../os/native.js';
import { parseJsonSecrets } from './jsonbytes.js';
import { LineSplitter } from './lines.js';
import { MAX_SOCKET_PATH, PROTOCOL_VERSION } from './protocol.js';
import { socketDirHint } from './socket.js';
import { badReply, checkError, checkGet, checkSelected, checkStatus, checkStop, fields, type Reply } from './reply-check.js';

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

/**
 * Connects to a live agent; null when none is listening at `sock`. INSECURE if the socket
 * is not ours, or if the process that answers on it does not run as our uid (then nothing
 * was sent to it).
 */
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
  if (!s) return null;
  try {
    checkServer(s, sock);
  } catch (e) {
    s.destroy();
    throw e;
  }
  return new Client(s);
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
  #nextId = 1;

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

  /**
   * Sends one request and returns its checked success reply with the Buffers decoded from
   * it. `check` validates the op's fields (it throws PROTOCOL); an error reply is rebuilt
   * and thrown. On any refusal every decoded Buffer is wiped and the connection dropped.
   */
  async #request<T>(fieldsIn: Record<string, unknown>, check: (r: Reply) => T): Promise<T> {
    const id = this.#nextId++;
    if (!this.#closed) this.#sock.write(`${JSON.stringify({ v: PROTOCOL_VERSION, id, ...fieldsIn, pid: process.pid })}\n`);
    const line = this.#early.shift() ?? (await this.#next());
    let doc: unknown;
    let secrets: Buffer[] = [];
    try {
      ({ doc, secrets } = parseJsonSecrets(line));
    } catch {
      throw this.#refuse([], badReply('it is not well-formed JSON (or a value is not canonical base64, or a member name repeats)'));
    } finally {
      line.fill(0);
    }
    try {
      const r = fields(doc, id);
      if (r.ok === false) {
        if (secrets.length) throw badReply('an error reply carries a value');
        throw checkError(r);
      }
      return check(r);
    } catch (e) {
      throw this.#refuse(secrets, e);
    }
  }

  /** Wipes what a refused reply decoded; a protocol violation also ends the connection. */
  #refuse(secrets: Buffer[], e: unknown): unknown {
    for (const b of secrets) b.fill(0);
    if (e instanceof SesameError && e.code === 'PROTOCOL') this.close();
    return e;
  }

  #next(): Promise<Buffer> {
    if (this.#closed) return Promise.reject(gone());
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        reject(new SesameError('UNAVAILABLE', `the agent did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`, { remedy: 'agent_status' }));
        this.#sock.destroy();
      }, REQUEST_TIMEOUT_MS);
      this.#waiters.push({
        resolve: (l) => (clearTimeout(t), resolve(l)),
        reject: (e) => (clearTimeout(t), reject(e)),
      });
    });
  }

  get(project: string, key: string): Promise<Buffer> {
    return this.#request({ op: 'get', project, key }, checkGet);
  }

  getSelected(project: string, sel: Selection): Promise<{ secrets: Array<[string, Buffer]>; missing: string[] }> {
    const req = { op: 'getselected', project, ...(sel.only ? { only: sel.only } : {}), ...(sel.prefix !== undefined ? { prefix: sel.prefix } : {}) };
    return this.#request(req, (r) => checkSelected(r, sel));
  }

  async status(): Promise<AgentStatus> {
    const st = await this.#request({ op: 'status' }, checkStatus);
    return { ...st, schema: 1, running: true, accessible: true, socket: typeof st.socket === 'string' ? st.socket : String(this.#sock.remoteAddress ?? '') };
  }

  async stop(): Promise<void> {
    await this.#request({ op: 'stop' }, checkStop);
    if (this.#closed) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5000);
      this.#onClose.push(() => (clearTimeout(t), resolve()));
    });
  }

  close(): void {
    this.#closed = true;
    this.#sock.destroy();
    this.#split.wipe();
    for (const l of this.#early.splice(0)) l.fill(0);
  }
}

function gone(): SesameError {
  return new SesameError('UNAVAILABLE', 'the agent closed the connection before answering', { remedy: 'agent_status' });
}
