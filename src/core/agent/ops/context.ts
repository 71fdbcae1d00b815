/**
 * What every op gets and returns (the dispatcher, dispatch.ts, builds it per request).
 *
 * The secret ops never decrypt by themselves: they call the plaintext door
 * (src/core/access.ts: authorize → approval → audit → decrypt), given here as `door` so that
 * a unit test can put a stub in its place; names and metadata come through it too
 * (`listVisible`).
 *
 * Contract: a Reply with `secret: true` holds base64 of secrets in `line` (off-heap, see
 * core/bytes.ts); whoever receives it writes it with `secret: true` or wipes it. Ops wipe the
 * plaintext Buffers the door gave them before they return, and encode nothing once `signal`
 * is aborted (the request was cancelled).
 */
import type { AccessContext, VaultSource } from '../../access.js';
import type { ReadDoor } from '../../audit/access-hook.js';
import type { RequestId } from '../protocol.js';
import type { Framer } from '../protocol-v2.js';

export type { AccessContext, ListResult, Selected, VaultSource } from '../../access.js';

/** One answer: a reply line (v1) or final frame (v2). */
export interface Reply {
  line: Buffer;
  /** The line carries secret bytes: wipe it after the write. */
  secret: boolean;
  /** Stop the agent once this reply is written. */
  stop?: boolean;
  /**
   * A descriptor to send with `line` (SCM_RIGHTS, `getfd`): the connection sends it, closes
   * it and ends the connection — or closes it unsent (cancelled, not alone on its connection).
   */
  fd?: number;
  /** What `fd` carries (names and kind, never a value), for the agent log and the audit. */
  fdInfo?: { project: string; key: string; kind: 'secret' | 'sealed' };
}

/**
 * The plaintext door's read functions (src/core/access.ts), declared once as audit/access-hook.ts
 * `ReadDoor` (the audit wraps the same door). Every Buffer returned is the caller's to wipe.
 */
export type PlaintextDoor = ReadDoor;

/** What an exec needs from its connection: intermediate frames with backpressure, and its controls. */
export interface FrameStream {
  readonly id: RequestId;
  /** Queues an intermediate frame (before the final one); `secret`: wiped once written. */
  emit(frame: Buffer, secret: boolean): void;
  /** True while the connection's write budget is full. */
  blocked(): boolean;
  /** Calls `fn` once, when it is not blocked any more. */
  onRoom(fn: () => void): void;
  /** Makes `c` reachable by `input`/`signal`/`resize` with `ref` = this request's id, until the final frame. */
  control(c: ExecControl): void;
}

/** What the control ops reach. Each throws a SesameError (PROTOCOL) when it does not apply. */
export interface ExecControl {
  input(data: Buffer): void;
  eof(): void;
  signal(name: string): void;
  resize(rows: number, cols: number): void;
}

/** Everything an op may use for one request. */
export interface OpContext {
  readonly access: AccessContext & { readonly signal: AbortSignal };
  readonly framer: Framer;
  readonly src: VaultSource;
  readonly door: PlaintextDoor;
  /** The ops served on the caller's listener, byte order (for `status`). */
  readonly ops: readonly string[];
  /** The agent's self-description, Part 1's members (never secret). */
  status(): Record<string, unknown>;
  /** Extra v2 status members (e.g. `listeners`), never secret. */
  statusV2?(): Record<string, unknown>;
  /** v2 requests: the connection's frame stream (exec). */
  readonly stream?: FrameStream;
  /** The agent's own environment, the base of an exec's (exec/env.ts). */
  readonly env?: NodeJS.ProcessEnv;
  /** A debug-level line for the agent log (the fetch → deliver → drop lifecycle); never a value. */
  debug?(msg: string): void;
}
