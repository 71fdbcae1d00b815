/**
 * One client connection to the agent: peer check, framing, deadlines, dispatch, and
 * writing replies so that secret bytes are wiped once the kernel has them.
 *
 * Rules (docs/spec/agent-protocol.md):
 * - The kernel's peer credentials are read on accept (fail closed: no credentials, no
 *   service). The peer uid must equal ours; otherwise one `denied` line, then close.
 * - A request's optional `pid` must equal the kernel's peer pid; otherwise `denied`, close.
 * - Requests are answered one line each, in order; several per connection are fine.
 * - A line over MAX_REQUEST_BYTES gets an `oversize` error, then the connection closes.
 * - A connection with no complete request for `idleMs` (default CONN_IDLE_MS) gets a
 *   `deadline` error and closes.
 * - Malformed, wrong-version, unknown-op and bad-argument requests get an error line and
 *   the connection stays usable.
 * - Backpressure (writer.ts): before each request the connection asks its ReplyWriter whether
 *   it may go on; while this connection's unsent replies, or all connections' together, are
 *   over their bound, the socket is paused (the kernel then stops the client's writes) and
 *   the complete request lines already read wait in a queue (never more than one read's worth).
 *   The idle deadline keeps running meanwhile: a client that reads none of its replies for
 *   `idleMs` is closed and its unsent replies are wiped.
 */
import type * as net from 'node:net';
import { SesameError } from '../errors.js';
import { peerCred, type PeerCred } from '../os/native.js';
import { LineSplitter } from './lines.js';
import { CONN_IDLE_MS, MAX_REQUEST_BYTES, decodeRequest, errorLine, protocolError, type Request } from './protocol.js';
import type { Reply } from './handlers.js';
import { ReplyWriter, WriteBudget } from './writer.js';

export interface ConnHooks {
  /** Our uid (the only uid served). */
  uid: number;
  /** Idle deadline per connection, ms. */
  idleMs?: number;
  /** Called for every request line, valid or not (resets the agent's idle timer). Returns false when the agent is closing. */
  activity(): boolean;
  /** Answers one validated request. */
  handle(req: Request): Reply;
  /** Called once a `stop` reply is queued; the agent shuts down (and ends this connection). */
  stopRequested(): void;
  /** A one-line note for the agent log (never secret). */
  log(msg: string): void;
  /** The agent-wide write budget shared by its connections (default: one per process). */
  budget?: WriteBudget;
}

let processBudget: WriteBudget | undefined;

type HandleWithFd = { _handle?: { fd?: number } };

/** Takes over an accepted socket. */
export function serveConnection(sock: net.Socket, hooks: ConnHooks): void {
  const fd = (sock as unknown as HandleWithFd)._handle?.fd;
  let cred: PeerCred;
  try {
    if (typeof fd !== 'number' || fd < 0) throw new SesameError('DENIED', 'no file descriptor for the connection');
    cred = peerCred(fd);
  } catch (e) {
    deny(sock, hooks, `peer credentials unavailable (${e instanceof Error ? e.message : 'error'})`, 'the agent cannot verify who you are');
    return;
  }
  if (cred.uid !== hooks.uid) {
    deny(sock, hooks, `peer uid ${cred.uid} pid ${String(cred.pid)} is not uid ${hooks.uid}`, `the agent serves only uid ${hooks.uid}; you are uid ${cred.uid}`);
    return;
  }
  new Connection(sock, hooks, cred).start();
}

function deny(sock: net.Socket, hooks: ConnHooks, why: string, message: string): void {
  hooks.log(`denied a connection: ${why}`);
  sock.on('error', () => {});
  sock.end(errorLine(undefined, new SesameError('DENIED', `denied: ${message}`, { hint: 'run sesame as the user who started the agent' })));
  sock.setTimeout(1000, () => sock.destroy());
}

class Connection {
  #split = new LineSplitter(MAX_REQUEST_BYTES);
  #out: ReplyWriter;
  /** Complete request lines read but not yet handled (requests carry no secret values). */
  #queue: Buffer[] = [];
  #head = 0;
  #oversize = false;
  /** The client has half-closed: answer what it sent, then end. */
  #eof = false;
  #closing = false;
  #deadline: NodeJS.Timeout | undefined;

  constructor(
    readonly sock: net.Socket,
    readonly hooks: ConnHooks,
    readonly cred: PeerCred,
  ) {
    this.#out = new ReplyWriter(sock, hooks.budget ?? (processBudget ??= new WriteBudget()));
  }

  start(): void {
    const s = this.sock;
    const ms = this.hooks.idleMs ?? CONN_IDLE_MS;
    // Measured from the last request started: trickling partial bytes, or sending requests
    // while reading no replies, does not extend it.
    this.#deadline = setTimeout(() => {
      this.#fail(protocolError('deadline', `no complete request for ${ms / 1000} s; closing the connection`));
    }, ms);
    // A client may send its requests and half-close (`printf … | nc -U`): its queued requests
    // are still answered, then we end (Node would otherwise end our side at once).
    s.allowHalfOpen = true;
    s.on('data', (chunk: Buffer) => {
      this.#onData(chunk);
    });
    s.on('end', () => {
      this.#eof = true;
      this.#pump();
    });
    // A write error (EPIPE from a client that left) also disposes the writer (blocked for
    // good): the requests the client left queued are never decrypted for nobody.
    s.on('error', () => {
      this.#closing = true;
    });
    s.on('close', () => {
      this.#cleanup();
    });
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return;
    const { lines, oversize } = this.#split.push(chunk);
    for (const line of lines) this.#queue.push(line);
    if (oversize) this.#oversize = true;
    this.#pump();
  }

  /** Handles queued requests while the writer allows; pauses reading while it does not. */
  #pump(): void {
    while (this.#head < this.#queue.length) {
      if (this.#closing || this.sock.destroyed) return;
      if (this.#out.blocked) {
        this.#waitForRoom();
        return;
      }
      const line = this.#queue[this.#head] ?? EMPTY;
      this.#queue[this.#head++] = EMPTY;
      this.#onLine(line);
    }
    this.#queue = [];
    this.#head = 0;
    if (this.#closing) return;
    if (this.#oversize) {
      this.hooks.activity();
      this.#fail(protocolError('oversize', `request line over ${MAX_REQUEST_BYTES} bytes; closing the connection`, 'requests are small JSON objects; see docs/spec/agent-protocol.md'));
      return;
    }
    if (this.#eof) {
      this.#closing = true;
      clearTimeout(this.#deadline);
      this.sock.end();
      // Ends once the replies are flushed; a client that reads none of them is cut off.
      this.sock.setTimeout(this.hooks.idleMs ?? CONN_IDLE_MS, () => this.sock.destroy());
      return;
    }
    if (this.#out.blocked) this.#waitForRoom();
  }

  #waitForRoom(): void {
    this.sock.pause();
    this.#out.onUnblock(() => {
      if (this.#closing || this.sock.destroyed) return;
      this.sock.resume();
      this.#pump();
    });
  }

  #onLine(line: Buffer): void {
    this.#deadline?.refresh();
    if (!this.hooks.activity()) {
      this.#fail(new SesameError('UNAVAILABLE', 'the agent is shutting down', { remedy: 'agent_start' }));
      return;
    }
    const d = decodeRequest(line);
    if (!d.ok) {
      this.#out.write(errorLine(d.id, d.error), false);
      return;
    }
    if (d.req.pid !== undefined && d.req.pid !== this.cred.pid) {
      this.hooks.log(`denied a request: pid claim ${d.req.pid} but the kernel says ${String(this.cred.pid)}`);
      this.#fail(new SesameError('DENIED', 'denied: the request pid does not match the connecting process', { hint: 'omit pid, or send your own process id' }), d.req.id);
      return;
    }
    const reply = this.hooks.handle(d.req);
    this.#out.write(reply.line, reply.secret);
    if (reply.stop) {
      // Clean up before the connection closes, so a client that saw the close knows the
      // socket, pid and lock files are gone. The agent then ends every connection.
      this.#closing = true;
      this.hooks.stopRequested();
    }
  }

  #fail(e: SesameError, id?: string | number): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#split.wipe();
    this.sock.end(errorLine(id, e));
    // An idle timer: a client that does not read even this line is cut off a second later.
    this.sock.setTimeout(1000, () => this.sock.destroy());
  }

  #cleanup(): void {
    this.#closing = true;
    clearTimeout(this.#deadline);
    this.#split.wipe();
    this.#queue = [];
    this.#head = 0;
    this.#out.dispose();
  }
}

const EMPTY = Buffer.alloc(0);
