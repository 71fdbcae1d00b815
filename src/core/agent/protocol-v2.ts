/**
 * The agent protocol, version 2 (docs/spec/agent-protocol.md, Part 2): choosing the version
 * of a line, v2 request validation, and frame encoding; plus the `Framer` that lets one op
 * answer in either version. Pure: no sockets, no keys (the client imports it too).
 *
 * Validation order of a v2 line (the first failure is the answer): `v`; `id` (missing or of
 * the wrong form → bad_args with `"id":null`); `op` a string; `op` served on this listener
 * (else unknown_op); no field outside the op's set (plus `pid`, `token`, `client` on every
 * op); `pid` form; `token` form; `client` form (`clientArg`); the op's own fields (Part 1's
 * forms, protocol.ts `opArgs`).
 *
 * Secrets: the `token` is validated for form, hashed at once (SHA-256, what the token file
 * stores) and dropped: a request keeps only `tokenPresented` and `tokenDigest`, which the
 * connection verifies (policy/tokens.ts `verifyTokenDigest`). Residual: JSON.parse made the
 * token a JS string, which lives on the V8 heap (unreferenced) until collected; it cannot be
 * wiped. A byte-level parser for the `token` member would close that.
 * Secret-bearing frames (`value`, `secrets`) are built byte by byte into off-heap Buffers
 * (protocol.ts `valueAfter`/`secretsAfter`); the writer wipes them once written.
 */
import { createHash } from 'node:crypto';
import { allocSecret } from '../bytes.js';
import { b64EncodeInto, b64Length } from './b64.js';
import { SesameError } from '../errors.js';
import {
  ARGS,
  badArgs,
  decodeV1,
  errorJson,
  errorLine,
  okLine,
  opArgs,
  parseRequestLine,
  protocolError,
  secretsAfter,
  secretsLine,
  validId,
  valueAfter,
  valueLine,
  type Decoded,
  type Request,
  type RequestId,
} from './protocol.js';
import { WRITE_FIELDS, decodeWriteArgs } from './ops/write-wire.js';
import type { WriteOp } from '../vault/writes.js';
import { APPROVAL_FIELDS, approvalArgs, isApprovalOp, type ApprovalArgs } from '../approval/wire.js';

/** The ops version 2 serves on every listener of this version, in byte order. */
export const OPS_V2 = [
  'approvals',
  'approve',
  'cell_forget',
  'cell_revoke',
  'cells',
  'challenge',
  'check',
  'deny',
  'exec',
  'get',
  'getfd',
  'getselected',
  'grant_revoke',
  'input',
  'list',
  'resize',
  'resolve',
  'signal',
  'status',
  'stop',
] as const;
export type OpV2 = (typeof OPS_V2)[number];
/** The ops of an agent started with --writes (`write` for the owner alone: ops/write.ts), in byte order. */
export const OPS_V2_WRITES = [...OPS_V2, 'write'] as const;
/** The control ops: each names an exec in flight on the same connection (`ref`) and is answered at once. */
export const CONTROL_OPS: readonly string[] = ['input', 'resize', 'signal'];
/** The most v2 requests one connection may have in flight. */
export const MAX_IN_FLIGHT = 32;
const MAX_TOKEN = 512;

const FIELDS: Record<OpV2 | 'write', readonly string[]> = {
  ...ARGS,
  list: ['project', 'prefix'],
  exec: ['project', 'argv', 'cwd', 'only', 'prefix', 'stdin', 'pty', 'timeout_s'],
  check: ['what', 'project', 'argv', 'key', 'only', 'prefix'],
  input: ['ref', 'data', 'eof'],
  signal: ['ref', 'signal'],
  resize: ['ref', 'rows', 'cols'],
  write: WRITE_FIELDS,
  ...APPROVAL_FIELDS,
  getfd: ['project', 'key', 'kind'],
};
/** The most argv entries an exec may pass. */
export const MAX_ARGV = 4096;
/** The signals a client may send to its exec. */
export const EXEC_SIGNALS: readonly string[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM'];

/**
 * What every v2 request carries besides its op. The token itself is never kept (see the
 * module comment): `tokenDigest` is its SHA-256 (32 bytes), present exactly when `tokenPresented`.
 */
interface V2Head {
  v: 2;
  id: RequestId;
  pid?: number;
  tokenPresented: boolean;
  tokenDigest?: Buffer;
  /** The client program as it declared itself (`client`): a label for the audit record, never an identity. */
  client?: ClientDeclared;
}

/**
 * A v2 request's optional `client` member, as validated: which front end relayed the request
 * (`via`, only `"mcp"`) and the program's self-declared name and version (printable ASCII,
 * 1–64 characters each). Nothing checks it: any local process may claim any name. It is
 * recorded beside the authenticated `via` (the door), never in its place.
 */
export interface ClientDeclared {
  readonly via: 'mcp';
  readonly name: string;
  readonly version: string;
}

/** The longest `client.name` / `client.version`. */
export const MAX_CLIENT_FIELD = 64;

/** Validates a v2 request's `client` member (docs/spec/agent-protocol.md, "client"); throws bad_args. Never echoes its content. */
export function clientArg(c: unknown): ClientDeclared {
  const printable = (x: unknown): x is string => typeof x === 'string' && x.length >= 1 && x.length <= MAX_CLIENT_FIELD && /^[\x20-\x7e]+$/.test(x);
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw badArgs('client must be an object {via, name, version}');
  const o = c as Record<string, unknown>;
  if (Object.keys(o).some((k) => k !== 'via' && k !== 'name' && k !== 'version')) throw badArgs('client takes only via, name and version');
  if (o.via !== 'mcp') throw badArgs('client.via must be "mcp"');
  if (!printable(o.name) || !printable(o.version)) throw badArgs(`client.name and client.version must be 1 to ${MAX_CLIENT_FIELD} printable ASCII characters`);
  return Object.freeze({ via: 'mcp', name: o.name, version: o.version });
}

/** A validated v2 request. */
export type RequestV2 =
  | (V2Head & { op: 'status' | 'stop' })
  | (V2Head & { op: 'get'; project: string; key: string })
  | (V2Head & { op: 'getfd'; project: string; key: string; kind?: 'sealed' })
  | (V2Head & { op: 'getselected'; project: string; only?: string[]; prefix?: string })
  | (V2Head & { op: 'list'; project?: string; prefix?: string })
  | (V2Head & { op: 'write'; write: WriteOp })
  | (V2Head & ExecArgs & { op: 'exec' })
  | (V2Head & { op: 'check'; what: 'exec' | 'get'; project: string; argv?: string[]; key?: string; only?: string[]; prefix?: string })
  | (V2Head & { op: 'input'; ref: RequestId; data?: Buffer; eof?: true })
  | (V2Head & { op: 'signal'; ref: RequestId; signal: string })
  | (V2Head & { op: 'resize'; ref: RequestId; rows: number; cols: number })
  | (V2Head & ApprovalArgs);

/** An exec's own fields, validated. */
export interface ExecArgs {
  project: string;
  argv: string[];
  cwd?: string;
  only?: string[];
  prefix?: string;
  stdin?: boolean;
  pty?: { rows: number; cols: number };
  timeout_s?: number;
}

/** A v1 request tagged with its version. */
export type RequestV1 = Request & { v: 1 };
/** A validated request of either version. */
export type AnyRequest = RequestV1 | RequestV2;

/**
 * One decoded line: a request of either version, or the answer to a line that is not one.
 * `form` says how a failure is answered: `v1` — one v1-form line (malformed, no/bad `v`,
 * unsupported version, any v1 failure); `v2` — an error frame with `id` (null when the id
 * was missing or ill-formed).
 */
export type DecodedLine = { ok: true; req: AnyRequest } | { ok: false; form: 'v1'; error: SesameError; id?: RequestId } | { ok: false; form: 'v2'; error: SesameError; id: RequestId | null };

/** Decodes one request line of any version (Part 2, "Choosing the version of a line"). Never throws. */
export function decodeLine(line: Buffer, served: readonly string[] = OPS_V2): DecodedLine {
  const p = parseRequestLine(line);
  if (!p.ok) return { ok: false, form: 'v1', error: p.error };
  if (p.o.v === 2) return decodeV2(p.o, served);
  const d: Decoded = decodeV1(p.o);
  if (d.ok) return { ok: true, req: { ...d.req, v: 1 } };
  return d.id === undefined ? { ok: false, form: 'v1', error: d.error } : { ok: false, form: 'v1', error: d.error, id: d.id };
}

/** Validates a parsed object whose `v` is 2. `served`: the ops of the listener, byte order. Never throws. */
export function decodeV2(o: Record<string, unknown>, served: readonly string[] = OPS_V2): DecodedLine {
  if (o.id === undefined) return v2fail(null, badArgs('every version 2 request needs id (a whole number or a string of at most 64 characters)'));
  const id = validId(o.id);
  if (id === undefined) return v2fail(null, badArgs('id must be a whole number or a string of at most 64 characters'));
  if (typeof o.op !== 'string') return v2fail(id, badArgs('every request needs op (a string)'));
  if (!served.includes(o.op)) return v2fail(id, protocolError('unknown_op', `unknown op ${JSON.stringify(o.op.slice(0, 32))}`, `this agent serves: ${served.join(', ')}`));
  const op = o.op as OpV2 | 'write';
  for (const k of Object.keys(o)) {
    if (!['v', 'op', 'id', 'pid', 'token', 'client', ...FIELDS[op]].includes(k)) return v2fail(id, badArgs(`op ${op} takes no field ${JSON.stringify(k.slice(0, 32))}`));
  }
  if (o.pid !== undefined && !(Number.isSafeInteger(o.pid) && (o.pid as number) > 0)) return v2fail(id, badArgs('pid must be a positive whole number'));
  if (o.token !== undefined && !validToken(o.token)) return v2fail(id, badArgs('token must be 1 to 512 printable ASCII characters without spaces'));
  try {
    const client = o.client === undefined ? undefined : clientArg(o.client);
    const args =
      op === 'getfd'
        ? getfdArgs(o)
        : op === 'write'
          ? decodeWriteArgs(o)
          : isApprovalOp(op)
            ? approvalArgs(op, o)
            : op === 'exec' || op === 'check' || CONTROL_OPS.includes(op)
              ? execOpArgs(op, o)
              : opArgs(op as 'get', o);
    // Hashed here and dropped: from now on only the digest travels (the module comment's residual).
    const tokenDigest = typeof o.token === 'string' ? createHash('sha256').update(o.token, 'latin1').digest() : undefined;
    delete o.token;
    const req = {
      v: 2,
      id,
      ...(o.pid !== undefined ? { pid: o.pid as number } : {}),
      tokenPresented: tokenDigest !== undefined,
      ...(tokenDigest ? { tokenDigest } : {}),
      ...(client ? { client } : {}),
      ...args,
    } as RequestV2;
    return { ok: true, req };
  } catch (e) {
    return v2fail(id, e as SesameError);
  }
}

/** The fields of exec, check and the control ops, validated; throws the bad_args SesameError. */
function execOpArgs(op: OpV2, o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { op };
  const argvOf = (): string[] => {
    const a = o.argv;
    if (!Array.isArray(a) || a.length < 1 || a.length > MAX_ARGV || !a.every((x) => typeof x === 'string' && !x.includes('\0')) || !(a[0] as string).length)
      throw badArgs(`argv must be an array of 1 to ${MAX_ARGV} strings without NUL, argv[0] not empty`);
    return a as string[];
  };
  if (op === 'exec' || op === 'check') {
    const sel = opArgs('getselected', { project: o.project, ...(o.only !== undefined ? { only: o.only } : {}), ...(o.prefix !== undefined ? { prefix: o.prefix } : {}) });
    Object.assign(out, sel, { op });
  }
  if (op === 'exec') {
    out.argv = argvOf();
    if (o.cwd !== undefined) {
      if (typeof o.cwd !== 'string' || !o.cwd.startsWith('/') || o.cwd.includes('\0') || o.cwd.length > 4096) throw badArgs('cwd must be an absolute path');
      out.cwd = o.cwd;
    }
    if (o.stdin !== undefined) {
      if (typeof o.stdin !== 'boolean') throw badArgs('stdin must be true or false');
      out.stdin = o.stdin;
    }
    if (o.pty !== undefined) out.pty = winSize(o.pty as Record<string, unknown>);
    if (o.timeout_s !== undefined) {
      if (!Number.isSafeInteger(o.timeout_s) || (o.timeout_s as number) < 1) throw badArgs('timeout_s must be a whole number of seconds, at least 1');
      out.timeout_s = o.timeout_s;
    }
    return out;
  }
  if (op === 'check') {
    if (o.what === 'exec') {
      out.argv = argvOf();
      if (o.key !== undefined) throw badArgs('check what:"exec" takes argv, not key');
    } else if (o.what === 'get') {
      if (typeof o.key !== 'string') throw badArgs('check what:"get" needs key');
      Object.assign(out, opArgs('get', { project: o.project, key: o.key }), { op });
      if (o.argv !== undefined || o.only !== undefined || o.prefix !== undefined) throw badArgs('check what:"get" takes project and key only');
    } else throw badArgs('what must be "exec" or "get"');
    out.what = o.what;
    return out;
  }
  const ref = validId(o.ref);
  if (ref === undefined) throw badArgs('ref must be the id of an exec in flight on this connection');
  out.ref = ref;
  if (op === 'input') {
    if (o.eof !== undefined) {
      if (o.eof !== true || o.data !== undefined) throw badArgs('input takes data (base64) or eof:true');
      out.eof = true;
    } else {
      if (typeof o.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(o.data) || o.data.length % 4 !== 0 || !o.data.length) throw badArgs('data must be standard base64 of at least one byte');
      out.data = Buffer.from(o.data, 'base64');
    }
  } else if (op === 'signal') {
    if (typeof o.signal !== 'string' || !EXEC_SIGNALS.includes(o.signal)) throw badArgs(`signal must be one of ${EXEC_SIGNALS.join(', ')}`);
    out.signal = o.signal;
  } else Object.assign(out, winSize(o));
  return out;
}

function winSize(o: Record<string, unknown> | null): { rows: number; cols: number } {
  const ok = (n: unknown): boolean => Number.isSafeInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
  if (typeof o !== 'object' || o === null || !ok(o.rows) || !ok(o.cols)) throw badArgs('rows and cols must be whole numbers from 1 to 65535');
  return { rows: o.rows as number, cols: o.cols as number };
}

/** A `chunk` frame of masked exec output in one off-heap Buffer (written with `secret: true`). */
export function chunkFrame(id: RequestId, stream: 'stdout' | 'stderr', data: Buffer): Buffer {
  const pre = Buffer.from(`{"v":2,"id":${JSON.stringify(id)},"frame":"chunk","stream":"${stream}","data":"`, 'utf8');
  const out = allocSecret(pre.length + b64Length(data.length) + 3);
  pre.copy(out);
  const o = b64EncodeInto(data, out, pre.length);
  out.write('"}\n', o, 'latin1');
  return out;
}

/** The `exit` frame: `code` or `signal`, plus the op's members (exec: `masked`, `too_short`). Never secret. */
export function exitFrame(id: RequestId, fields: Record<string, unknown>): Buffer {
  const body = JSON.stringify(fields).slice(1);
  return Buffer.from(`{"v":2,"id":${JSON.stringify(id)},"frame":"exit"${body === '}' ? '}' : `,${body}`}\n`, 'utf8');
}

/** `getfd`'s fields: `get`'s, and `kind` (only `"sealed"`: a file read(2) can read; absent: the best kind there is). */
function getfdArgs(o: Record<string, unknown>): Record<string, unknown> {
  if (o.kind !== undefined && o.kind !== 'sealed') throw badArgs('kind must be "sealed" (or absent, for the best kind there is)');
  return { ...opArgs('get', o), op: 'getfd', ...(o.kind === undefined ? {} : { kind: o.kind }) };
}

function v2fail(id: RequestId | null, error: SesameError): DecodedLine {
  return { ok: false, form: 'v2', error, id };
}

/** 1–512 characters, each 0x21–0x7E. Never echoes the token anywhere. */
function validToken(t: unknown): boolean {
  if (typeof t !== 'string' || t.length < 1 || t.length > MAX_TOKEN) return false;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** `{"v":2,"id":ID,"frame":"TYPE"` — the head every frame opens with (not closed). */
function frameOpen(id: RequestId | null, frame: 'ok' | 'error' | 'pending'): string {
  return `{"v":2,"id":${JSON.stringify(id)},"frame":"${frame}"`;
}

/** An `ok` frame with non-secret result members. */
export function okFrame(id: RequestId | null, fields: Record<string, unknown>): Buffer {
  const body = JSON.stringify(fields).slice(1);
  return Buffer.from(`${frameOpen(id, 'ok')}${body === '}' ? '}' : `,${body}`}\n`, 'utf8');
}

/** A `pending` frame (intermediate): `reason`, `message` for a human, and a never-secret `detail`. */
export function pendingFrame(id: RequestId | null, reason: string, message: string, detail: Record<string, unknown>): Buffer {
  return Buffer.from(`${frameOpen(id, 'pending')},"reason":${JSON.stringify(reason)},"message":${JSON.stringify(message)},"detail":${JSON.stringify(detail)}}\n`, 'utf8');
}

/** An `error` frame: `{v:2, id, frame:"error", error:{code, message, hint?, remedy?, detail?}}`. */
export function errorFrame(id: RequestId | null, e: SesameError): Buffer {
  return Buffer.from(`${frameOpen(id, 'error')},"error":${errorJson(e, true)}}\n`, 'utf8');
}

/**
 * How one request is answered, in its own version: the ops build their replies through it.
 * `value` and `secrets` return off-heap Buffers holding base64 of secrets: the caller hands
 * them to the writer with `secret: true` (or wipes them).
 */
export interface Framer {
  readonly version: 1 | 2;
  ok(fields: Record<string, unknown>): Buffer;
  error(e: SesameError): Buffer;
  value(v: Buffer): Buffer;
  secrets(s: ReadonlyArray<readonly [string, Buffer]>, missing: readonly string[]): Buffer;
}

/** Part 1's reply lines for request `id`. v1 errors carry no `detail.reason` for DENIED (Part 1's shape) — the caller strips it. */
export function v1Framer(id: RequestId | undefined): Framer {
  return { version: 1, ok: (f) => okLine(id, f), error: (e) => errorLine(id, e), value: (v) => valueLine(id, v), secrets: (s, m) => secretsLine(id, s, m) };
}

/** Part 2's final frames for request `id`. */
export function v2Framer(id: RequestId | null): Framer {
  const open = frameOpen(id, 'ok');
  return { version: 2, ok: (f) => okFrame(id, f), error: (e) => errorFrame(id, e), value: (v) => valueAfter(open, v), secrets: (s, m) => secretsAfter(open, s, m) };
}

/** The framer for a request of either version. */
export function framerFor(req: AnyRequest): Framer {
  return req.v === 2 ? v2Framer(req.id) : v1Framer(req.id);
}
