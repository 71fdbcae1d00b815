/**
 * One client connection to the agent: who is asking, framing, the in-flight table,
 * deadlines, and writing replies so that secret bytes are wiped once the kernel has them.
 *
 * Rules (docs/spec/agent-protocol.md, Parts 1 and 2):
 * - On accept the kernel's peer credentials are read (fail closed: none, no service) and the
 *   Caller is built once (`callerFromPeer`, with the listener the connection came through);
 *   `authorizeConnection` admits it or it gets one v1-form `DENIED` line, then close.
 * - Tokens: a v2 request's `token` arrives already hashed (protocol-v2.ts drops the raw
 *   token at decode). Its digest is verified against the snapshot's tokens
 *   (policy/tokens.ts `verifyTokenDigest`: constant time, every record compared) at the wall
 *   clock (`hooks.now`); a verified token narrows this request's Caller (`withToken`). An
 *   unknown, expired or revoked token is denied alike on the wire (`token_unknown`); the
 *   agent log tells them apart, naming a known token by its 8-hex id only.
 * - Rate: a request that authorize() lets through (or refuses on a name) then takes from the
 *   caller's bucket (`hooks.rate`, the profile's `rate_limit`); over budget it gets DENIED
 *   reason `rate` with `retry_after_s`, and nothing runs. Hidden refusals are counted too, so
 *   the budget says nothing about which names exist.
 * - Each line is answered in its own version (protocol-v2.ts `decodeLine`). Every request is
 *   then put to `authorize()` with the policy snapshot of that moment: an open refusal is its
 *   error (DENIED without `detail` in v1, Part 1's shape); a refusal on a name goes on to the
 *   op, whose door answers it exactly as nonexistence. A refusal marked `close` (a false pid
 *   claim) ends the connection after its error.
 * - v2 requests run concurrently (handlers are async): at most MAX_IN_FLIGHT per connection
 *   (`too_many`), ids unique among those in flight (`duplicate_id`; the earlier request is
 *   unaffected), exactly one final frame each, frames written whole. v1 lines (and every line
 *   answered in v1 form) are barriers: started only when nothing is in flight, and nothing
 *   starts until their reply is queued — a v1-only client sees exactly Part 1.
 * - Cancellation: end-of-file, a socket error or close aborts every v2 request in flight (its
 *   AbortSignal); its result, if any, is wiped and never written; v2 lines read but not
 *   started are dropped. v1 requests already read are still answered (scripts half-close),
 *   then the agent ends its side.
 * - The idle deadline (`idleMs`, default CONN_IDLE_MS) runs only while nothing is in flight:
 *   suspended when a request starts, restarted from the full time when the last one ends and
 *   at every request line started. Partial lines never extend it.
 * - Backpressure (writer.ts): a request is started only while the ReplyWriter is not blocked;
 *   otherwise the socket is paused and read lines wait. A request in flight always finishes
 *   and queues its reply (the writer never refuses one), so a blocked connection soon has
 *   nothing in flight and the deadline runs again: a client that reads none of its replies is
 *   cut off `idleMs` after its last request ended, and its unsent replies are wiped.
 * - Oversize lines, the deadline and a request after the session expired are
 *   connection-level: one v1-form line, in-flight requests cancelled, close.
 * - Shutdown (`hooks.closing` aborted, or a `stop` answered on this connection): every v2
 *   request in flight gets a final `UNAVAILABLE` frame (reason `shutdown`) and is cancelled.
 * - `getfd` (ops/getfd.ts) must be alone on its connection; once started nothing else starts
 *   there. Its answer is sent with the descriptor in one sendmsg (SCM_RIGHTS) on the accepted
 *   socket's own fd (`_handle.fd`: node:net cannot carry descriptors) — only when nothing is
 *   queued for the socket, so the frame cannot overtake earlier bytes — then the agent's copy
 *   is closed and the connection ends.
 */
import type * as net from 'node:net';
import { SesameError } from '../errors.js';
import type { ClientLabel } from '../access.js';
import { closeDescriptor, peerCred, sendWithFd, type PeerCred } from '../os/native.js';
import { authorize, authorizeConnection, denialError, ownerOnlyPolicy, type OpenDeny, type Policy } from '../policy/authorize.js';
import { callerFromPeer, describeCaller, withToken, type Caller, type ListenerRef, type ProcReader } from '../policy/caller.js';
import { rateLimitedError, type RateDecision } from '../policy/rate.js';
import { verifyTokenDigest } from '../policy/tokens.js';
import type { Reply, RequestContext } from './dispatch.js';
import { LineSplitter } from './line-splitter.js';
import { CONN_IDLE_MS, MAX_REQUEST_BYTES, errorLine, protocolError, type RequestId } from './protocol.js';
import { CONTROL_OPS, MAX_IN_FLIGHT, OPS_V2, decodeLine, errorFrame, framerFor, okFrame, type AnyRequest, type DecodedLine, type RequestV2 } from './protocol-v2.js';
import type { ExecControl, FrameStream } from './ops/context.js';
import { ReplyWriter, WriteBudget } from './writer.js';

/** One `getfd` descriptor's fate, told to `ConnHooks.fdDone` (names only, never a value). */
export interface FdDelivery {
  caller: Caller;
  project: string;
  key: string;
  kind: 'secret' | 'sealed';
  sent: boolean;
  request?: string;
  client?: ClientLabel;
}

export interface ConnHooks {
  /** Our uid (the owner). */
  uid: number;
  /** The listener this connection came through (default: the owner socket). */
  listener?: ListenerRef;
  /** The policy in force now; read once per connection on accept and once per request (default: ownerOnlyPolicy(uid)). */
  policy?: () => Policy;
  /** Idle deadline per connection, ms. */
  idleMs?: number;
  /**
   * Called for every request line, valid or not. Returns false when the agent is closing.
   * `touches` is false for a `status` request: it checks the deadlines but does not reset
   * the idle timer (a prompt widget polling the status must not keep the agent alive).
   */
  activity(touches?: boolean): boolean;
  /** Answers one validated, authorized request; resolves with exactly one reply (see dispatch.ts). */
  handle(req: AnyRequest, rc: RequestContext): Promise<Reply>;
  /** The ops this listener serves, byte order (default OPS_V2; OPS_V2_WRITES on the owner socket of an agent started with --writes). */
  ops?: readonly string[];
  /** Called once a `stop` reply is queued; the agent shuts down (and ends this connection). */
  stopRequested(): void;
  /** A one-line note for the agent log (never secret). */
  log(msg: string): void;
  /** A debug-level note for the agent log (the fd lifecycle; never secret). Absent: none. */
  debug?(msg: string): void;
  /** Told of each `getfd` descriptor once it was sent (or closed unsent), for the audit's `fd` event. Never throws. */
  fdDone?(r: FdDelivery): void;
  /**
   * Told of every request refused before an op runs (an open refusal, the rate limit): who,
   * what (names only, never a token), why — for the audit log. A throw never changes the answer.
   */
  refused?(r: { caller: Caller; op: string; project?: string; keys: readonly string[]; reason: string; request?: string; client?: ClientLabel }): void;
  /** Told of every connection refused on accept (the peer rule, no policy for the listener), for the audit log. A throw changes nothing. */
  refusedConnection?(caller: Caller, reason: string): void;
  /** The agent-wide write budget shared by its connections (default: one per process). */
  budget?: WriteBudget;
  /** How the Caller reads /proc (tests). */
  proc?: ProcReader;
  /**
   * Aborted when the agent shuts down, before it ends the connections: every v2 request in
   * flight then gets its final `UNAVAILABLE` (reason `shutdown`) frame.
   */
  closing?: AbortSignal;
  /** Wall clock in ms since the epoch, for token expiry (default Date.now). */
  now?: () => number;
  /** The rate decision for one request of `caller` (absent: no limit). Never throws. */
  rate?: (caller: Caller) => RateDecision;
  /** Called with a token's 8-hex id each time it verifies (the agent's in-memory last use). */
  tokenUsed?: (id8: string) => void;
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
    deny(sock, hooks, `peer credentials unavailable (${e instanceof Error ? e.message : 'error'})`, 'denied: the agent cannot verify who you are');
    return;
  }
  const listener = hooks.listener ?? { kind: 'owner' };
  const policy = hooks.policy ?? constant(ownerOnlyPolicy(hooks.uid));
  const caller = callerFromPeer(cred, listener, hooks.proc);
  const admitted = authorizeConnection(caller, policy());
  if (!admitted.allow) {
    const why = admitted.reason === 'peer' && listener.kind === 'owner' ? `is not uid ${hooks.uid}` : `is refused by the ${listener.kind} listener (${admitted.reason})`;
    try {
      hooks.refusedConnection?.(caller, admitted.reason);
    } catch {
      /* the audit never changes the answer */
    }
    deny(sock, hooks, `peer uid ${cred.uid} pid ${String(cred.pid)} ${why}`, admitted.message, admitted.hint);
    return;
  }
  new Connection(sock, hooks, caller, policy).start();
}

const constant =
  <T>(x: T): (() => T) =>
  () =>
    x;

function deny(sock: net.Socket, hooks: ConnHooks, why: string, message: string, hint = 'run sesame as the user who started the agent'): void {
  hooks.log(`denied a connection: ${why}`);
  sock.on('error', () => {});
  sock.end(errorLine(undefined, new SesameError('DENIED', message, { hint })));
  sock.setTimeout(1000, () => sock.destroy());
}

/** A request started and not yet answered. */
interface Flight {
  readonly ac: AbortController;
  /** The v2 request's id (for a shutdown frame). */
  readonly id?: RequestId;
  /** An exec's controls, reachable by `input`/`signal`/`resize` with `ref` = id. */
  control?: ExecControl;
  /** Control requests that arrived before the exec started its child (applied, in order, when it does). */
  early?: RequestV2[];
}

/** The in-flight key of an id: ids are compared by type and value (`1` ≠ `"1"`). */
const keyOf = (id: RequestId): string => (typeof id === 'number' ? `n${id}` : `s${id}`);

class Connection {
  #split = new LineSplitter(MAX_REQUEST_BYTES);
  #out: ReplyWriter;
  /** Lines read but not started: raw, or decoded once a barrier made them wait. Never secret-bearing once decoded. */
  #queue: Array<Buffer | DecodedLine> = [];
  #head = 0;
  #flights = new Map<string, Flight>();
  /** The v1 request in flight (a barrier), if any. */
  #v1: Flight | undefined;
  #oversize = false;
  /** The client has half-closed: answer the v1 lines it sent, then end. */
  #eof = false;
  #closing = false;
  #deadline: NodeJS.Timeout | undefined;
  #idleMs: number;
  /** A `getfd` was started: nothing else starts on this connection; it ends after the descriptor. */
  #fdConn = false;

  constructor(
    readonly sock: net.Socket,
    readonly hooks: ConnHooks,
    readonly caller: Caller,
    readonly policy: () => Policy,
  ) {
    this.#out = new ReplyWriter(sock, hooks.budget ?? (processBudget ??= new WriteBudget()));
    this.#idleMs = hooks.idleMs ?? CONN_IDLE_MS;
  }

  start(): void {
    const s = this.sock;
    this.#armDeadline();
    // A client may send its requests and half-close (`printf … | nc -U`): its v1 requests are
    // still answered, then we end (Node would otherwise end our side at once).
    s.allowHalfOpen = true;
    s.on('data', (chunk: Buffer) => {
      this.#onData(chunk);
    });
    s.on('end', () => {
      this.#eof = true;
      this.#cancelAll();
      this.#pump();
    });
    // A write error (EPIPE from a client that left) also disposes the writer (blocked for
    // good): queued requests are never started, so nothing is decrypted for nobody.
    s.on('error', () => {
      this.#closing = true;
      this.#cancelAll();
    });
    s.on('close', () => {
      this.hooks.closing?.removeEventListener('abort', this.#onShutdown);
      this.#cleanup();
    });
    this.hooks.closing?.addEventListener('abort', this.#onShutdown, { once: true });
  }

  /**
   * The agent is shutting down: final frames for what is in flight. The agent then ends the
   * connection; a line still being read gets the v1-form UNAVAILABLE (`activity()` is false).
   */
  #onShutdown = (): void => {
    this.#shutdownFrames();
  };

  /** Every v2 request in flight gets `UNAVAILABLE` (reason shutdown) as its final frame and is cancelled. */
  #shutdownFrames(): void {
    const e = new SesameError('UNAVAILABLE', 'the agent is shutting down', { detail: { reason: 'shutdown' }, remedy: 'agent_start' });
    for (const [, f] of this.#flights) {
      f.ac.abort();
      if (f.id !== undefined) this.#out.write(errorFrame(f.id, e), false);
    }
    this.#flights.clear();
  }

  /** Requests in flight (v1 and v2). */
  get #busy(): boolean {
    return this.#flights.size > 0 || this.#v1 !== undefined;
  }

  #armDeadline(): void {
    if (this.#deadline) this.#deadline.refresh();
    else {
      const ms = this.#idleMs;
      this.#deadline = setTimeout(() => {
        this.#fail(errorLine(undefined, protocolError('deadline', `no complete request for ${ms / 1000} s; closing the connection`)));
      }, ms);
    }
  }

  #disarmDeadline(): void {
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return;
    const { lines, oversize } = this.#split.push(chunk);
    for (const line of lines) this.#queue.push(line);
    if (oversize) this.#oversize = true;
    this.#pump();
  }

  /** Starts queued requests while the writer and the barriers allow; pauses reading while the writer does not. */
  #pump(): void {
    while (this.#head < this.#queue.length) {
      if (this.#closing || this.sock.destroyed) return;
      if (this.#out.blocked) {
        this.#waitForRoom();
        return;
      }
      if (this.#v1) return; // a v1 barrier in flight: its end pumps again
      if (this.#fdConn) return; // a getfd connection serves nothing else
      let item = this.#queue[this.#head] ?? EMPTY;
      if (Buffer.isBuffer(item)) {
        const raw = item;
        item = decodeLine(raw, this.hooks.ops ?? OPS_V2);
        raw.fill(0); // the line may have carried a token
        this.#queue[this.#head] = item;
      }
      const v1form = item.ok ? item.req.v === 1 : item.form === 'v1';
      if (v1form && this.#flights.size > 0) return; // waits for every earlier v2 final frame
      this.#queue[this.#head++] = EMPTY;
      if (this.#eof && !v1form) continue; // the client left: v2 lines it sent are not started
      this.#start(item);
    }
    this.#queue = [];
    this.#head = 0;
    if (this.#closing) return;
    if (this.#oversize) {
      if (this.#v1) return; // answered first, then the oversize error
      this.hooks.activity();
      this.#fail(
        errorLine(undefined, protocolError('oversize', `request line over ${MAX_REQUEST_BYTES} bytes; closing the connection`, 'requests are small JSON objects; see docs/spec/agent-protocol.md')),
      );
      return;
    }
    if (this.#eof) {
      if (this.#busy) return;
      this.#closing = true;
      this.#disarmDeadline();
      this.sock.end();
      // Ends once the replies are flushed; a client that reads none of them is cut off.
      this.sock.setTimeout(this.#idleMs, () => this.sock.destroy());
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

  /** Starts one decoded line; a `write` set's value (ops/write.ts) is wiped here when the request is refused before its op runs. */
  #start(d: DecodedLine): void {
    const value = d.ok && d.req.v === 2 && d.req.op === 'write' && d.req.write.op === 'set' ? d.req.write.value : undefined;
    if (!this.#startOne(d)) value?.fill(0);
  }

  /** true when the request was handed to its op. */
  #startOne(d: DecodedLine): boolean {
    if (!this.#busy) this.#armDeadline();
    if (!this.hooks.activity(!(d.ok && d.req.op === 'status'))) {
      this.#fail(errorLine(undefined, new SesameError('UNAVAILABLE', 'the agent is shutting down', { remedy: 'agent_start' })));
      return false;
    }
    if (!d.ok) {
      this.#out.write(d.form === 'v1' ? errorLine(d.id, d.error) : errorFrame(d.id, d.error), false);
      return false;
    }
    const req = d.req;
    const framer = framerFor(req);
    if (req.v === 2) {
      if (this.#flights.size >= MAX_IN_FLIGHT) {
        this.#out.write(framer.error(protocolError('too_many', `more than ${MAX_IN_FLIGHT} requests in flight on this connection`, 'wait for a final frame before sending more')), false);
        return false;
      }
      if (this.#flights.has(keyOf(req.id))) {
        this.#out.write(
          framer.error(protocolError('duplicate_id', `request id ${JSON.stringify(req.id)} is already in flight on this connection`, 'wait for its final frame, or use another id')),
          false,
        );
        return false;
      }
    }
    if (req.v === 2 && CONTROL_OPS.includes(req.op)) {
      this.#control(req);
      return true;
    }
    if (req.op === 'getfd') {
      if (this.#busy || this.#head < this.#queue.length) {
        this.#out.write(
          framer.error(protocolError('bad_args', 'getfd must be the only request on its connection', 'open a connection for each getfd, send it alone, and read its answer with recvmsg')),
          false,
        );
        return false;
      }
      this.#fdConn = true;
    }
    const policy = this.policy();
    // On the cell socket a request's `token` is the cell's own (checked by `resolve`), not an agent token.
    const cellToken = this.caller.listener.kind === 'cell' && req.v === 2 ? req.tokenDigest : undefined;
    const tokenPresented = req.v === 2 && req.tokenPresented && !cellToken;
    const caller = req.v === 2 && req.tokenDigest && !cellToken ? this.#withToken(req.tokenDigest, policy) : this.caller;
    const decision = authorize(caller, { op: req.op, ...names(req), ...(req.pid !== undefined ? { pid: req.pid } : {}), tokenPresented }, policy);
    if (!decision.allow && !decision.hidden) {
      cellToken?.fill(0);
      this.#told(caller, req, decision.reason);
      this.#refuse(req, decision);
      return false;
    }
    const rate = this.hooks.rate?.(caller);
    if (rate && !rate.ok) {
      cellToken?.fill(0);
      this.#told(caller, req, 'rate');
      this.#out.write(framer.error(rateLimitedError(rate.retryAfterS)), false);
      return false;
    }
    // Allowed, or refused on a name: the op's door answers that exactly as nonexistence.
    const flight: Flight = req.v === 2 ? { ac: new AbortController(), id: req.id } : { ac: new AbortController() };
    if (req.v === 2) this.#flights.set(keyOf(req.id), flight);
    else this.#v1 = flight;
    this.#disarmDeadline();
    const stream: FrameStream | undefined =
      req.v === 2
        ? {
            id: req.id,
            emit: (frame, secret) => {
              if (flight.ac.signal.aborted || this.#closing) {
                if (secret) frame.fill(0);
                return;
              }
              this.#out.write(frame, secret);
            },
            blocked: () => this.#out.blocked,
            onRoom: (fn) => {
              this.#out.onRoom(fn);
            },
            control: (c) => {
              flight.control = c;
              for (const r of flight.early?.splice(0) ?? []) this.#control(r);
            },
          }
        : undefined;
    const intermediate = (line: Buffer): void => {
      if (!flight.ac.signal.aborted && !this.#closing) this.#out.write(line, false);
    };
    const rc: RequestContext = {
      caller,
      policy,
      signal: flight.ac.signal,
      framer,
      ops: this.hooks.ops ?? OPS_V2,
      tokenPresented,
      intermediate,
      ...(stream ? { stream } : {}),
      ...(cellToken ? { cellToken } : {}),
    };
    let p: Promise<Reply>;
    try {
      p = this.hooks.handle(req, rc);
    } catch (e) {
      p = Promise.reject(e instanceof Error ? e : new Error('handler failed'));
    }
    p.then(
      (r) => {
        cellToken?.fill(0);
        this.#finish(req, flight, r);
      },
      (e: unknown) => {
        cellToken?.fill(0);
        if (!flight.ac.signal.aborted) this.hooks.log(`a request failed: ${e instanceof Error ? e.name : 'error'}`);
        this.#finish(req, flight, { line: framer.error(new SesameError('ERROR', 'the agent failed to answer this request', { hint: 'see agent.log' })), secret: false });
      },
    );
    return true;
  }

  /**
   * A control op (`input`, `signal`, `resize`): applied at once to the exec in flight on this
   * connection whose id is `ref`, answered `ok`; PROTOCOL `bad_args` when there is none (or
   * it does not apply). The exec itself was authorized when it started; a control op changes
   * no access, so it is not authorized or rate-limited again.
   */
  #control(req: RequestV2): void {
    const framer = framerFor(req);
    if (req.op !== 'input' && req.op !== 'signal' && req.op !== 'resize') return;
    const f = this.#flights.get(keyOf(req.ref));
    const c = f?.control;
    if (f && !c && (f.early ??= []).length < MAX_EARLY) {
      f.early.push(req); // the exec is still starting (approval, spawn): answered once it runs
      return;
    }
    try {
      if (!c) throw protocolError('bad_args', `no exec ${JSON.stringify(req.ref)} is in flight on this connection`, 'ref must be the id of an exec this connection started and that has not ended');
      if (req.op === 'input') {
        if (req.eof) c.eof();
        else if (req.data) {
          c.input(req.data);
          req.data.fill(0);
        }
      } else if (req.op === 'signal') c.signal(req.signal);
      else c.resize(req.rows, req.cols);
      this.#out.write(okFrame(req.id, {}), false);
    } catch (e) {
      this.#out.write(framer.error(e instanceof SesameError ? e : new SesameError('ERROR', 'the control request failed')), false);
    }
  }

  /**
   * This connection's Caller with the token whose SHA-256 is `digest`, if it verifies against
   * `policy` now; else the Caller as it is (authorize then refuses: token presented, none
   * verified). The digest is wiped here; a refusal is logged with its distinct reason.
   */
  #withToken(digest: Buffer, policy: Policy): Caller {
    const check = verifyTokenDigest(digest, policy.tokens, (this.hooks.now ?? Date.now)());
    digest.fill(0);
    if (check.ok) {
      this.hooks.tokenUsed?.(check.grant.id8);
      return withToken(this.caller, check.grant);
    }
    this.hooks.log(`denied a request: ${check.reason}${check.id8 === undefined ? '' : ` (token ${check.id8})`} from ${describeCaller(this.caller)}`);
    return this.caller;
  }

  /** The audit's view of a refusal (`hooks.refused`): names only; a failing hook never changes the answer. */
  #told(caller: Caller, req: AnyRequest, reason: string): void {
    if (!this.hooks.refused) return;
    const n = names(req);
    const keys = n.key !== undefined ? [n.key] : (req.op === 'getselected' || req.op === 'exec') && req.v === 2 && req.only ? req.only : [];
    try {
      this.hooks.refused({
        caller,
        op: req.op,
        ...(n.project === undefined ? {} : { project: n.project }),
        keys,
        reason,
        ...(req.v === 2 ? { request: String(req.id) } : {}),
        ...(req.v === 2 && req.client ? { client: req.client } : {}),
      });
    } catch {
      /* the refusal stands */
    }
  }

  /** An open refusal: its error (v1: Part 1's DENIED without detail), then close if it says so. */
  #refuse(req: AnyRequest, d: OpenDeny): void {
    const e = denialError(d);
    const err = req.v === 1 && e.code === 'DENIED' ? new SesameError('DENIED', e.message, { hint: d.hint }) : e;
    const line = framerFor(req).error(err);
    if (d.reason === 'pid') this.hooks.log(`denied a request: pid claim ${String(req.pid)} but the kernel says ${String(this.caller.pid)}`);
    if (d.close) this.#fail(line);
    else this.#out.write(line, false);
  }

  #finish(req: AnyRequest, flight: Flight, r: Reply): void {
    const cancelled = flight.ac.signal.aborted;
    if (req.v === 2) {
      if (this.#flights.get(keyOf(req.id)) === flight) this.#flights.delete(keyOf(req.id));
    } else if (this.#v1 === flight) this.#v1 = undefined;
    const early = flight.early?.splice(0) ?? [];
    if (r.fd !== undefined) {
      this.#deliverFd(r, cancelled || this.#closing, req.v === 2 ? req.id : undefined, req.v === 2 ? req.client : undefined);
      return;
    }
    if (cancelled || this.#closing) {
      if (r.secret) r.line.fill(0);
    } else {
      this.#out.write(r.line, r.secret);
      for (const c of early) this.#control(c); // the exec never ran: each gets its error
      if (r.stop) {
        // Clean up before the connection closes, so a client that saw the close knows the
        // socket, pid and lock files are gone. The agent then ends every connection.
        this.#shutdownFrames();
        this.#closing = true;
        this.hooks.stopRequested();
        return;
      }
    }
    if (!this.#busy && !this.#closing) this.#armDeadline();
    this.#pump();
  }

  /**
   * Sends a `getfd` answer: its frame with the descriptor attached (SCM_RIGHTS) in one
   * sendmsg on the socket's own fd, then closes the agent's copy and ends the connection.
   * Only when nothing else is queued for the socket (the frame must not overtake earlier
   * bytes); otherwise, and when cancelled, the descriptor is closed unsent.
   */
  #deliverFd(r: Reply, dropped: boolean, id: RequestId | undefined, client: ClientLabel | undefined): void {
    const fd = r.fd!;
    const info = r.fdInfo;
    const note = info ? `${info.project}/${info.key}` : '?';
    const sockFd = (this.sock as unknown as HandleWithFd)._handle?.fd;
    let sent = false;
    try {
      if (!dropped && typeof sockFd === 'number' && sockFd >= 0 && this.sock.writableLength === 0 && !this.#out.blocked) {
        sendWithFd(sockFd, r.line, fd);
        sent = true;
        this.hooks.debug?.(`fd: delivered ${note} to ${describeCaller(this.caller)}`);
      }
    } catch (e) {
      this.hooks.log(`a descriptor could not be sent: ${e instanceof Error ? e.message : 'error'}`);
    } finally {
      closeDescriptor(fd);
      this.hooks.debug?.(`fd: dropped the agent's descriptor for ${note}${sent ? '' : ' (not delivered)'}`);
      if (info) this.hooks.fdDone?.({ caller: this.caller, ...info, sent, ...(id === undefined ? {} : { request: String(id) }), ...(client ? { client } : {}) });
    }
    if (!sent && !dropped) {
      this.#fail(r.line.length ? errorLine(undefined, new SesameError('ERROR', 'the agent could not send the descriptor', { hint: 'send getfd alone on a fresh connection' })) : EMPTY);
      return;
    }
    this.#closing = true;
    this.#cancelAll();
    this.#disarmDeadline();
    this.sock.end();
    this.sock.setTimeout(1000, () => this.sock.destroy());
  }

  /** Aborts every v2 request in flight; their results will be wiped, not written. */
  #cancelAll(): void {
    for (const f of this.#flights.values()) f.ac.abort();
    this.#flights.clear();
  }

  #fail(line: Buffer): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#cancelAll();
    this.#v1?.ac.abort();
    this.#disarmDeadline();
    this.#split.wipe();
    this.sock.end(line);
    // An idle timer: a client that does not read even this line is cut off a second later.
    this.sock.setTimeout(1000, () => this.sock.destroy());
  }

  #cleanup(): void {
    this.#closing = true;
    this.#cancelAll();
    this.#v1?.ac.abort();
    this.#disarmDeadline();
    this.#split.wipe();
    this.#queue = [];
    this.#head = 0;
    this.#out.dispose();
  }
}

/** The names a request touches, for authorize(). */
function names(req: AnyRequest): { project?: string; key?: string } {
  if (req.op === 'get' || req.op === 'getfd') return { project: req.project, key: req.key };
  if ((req.op === 'getselected' || req.op === 'list' || req.op === 'exec') && req.project !== undefined) return { project: req.project };
  if (req.op === 'check') return { project: req.project };
  return {};
}

const EMPTY = Buffer.alloc(0);
/** The most control requests held for an exec that has not started its child yet. */
const MAX_EARLY = 256;
