/**
 * The agent protocol, version 1 (docs/spec/agent-protocol.md): constants, request
 * validation, and response lines. Pure: no sockets, no keys, no libsodium, no koffi (the
 * client imports this module).
 *
 * Every request is validated completely here, before the vault is touched. A validation
 * failure is a SesameError with code PROTOCOL and `detail.reason` one of ProtocolReason.
 *
 * Secret responses (`valueLine`, `secretsLine`) are assembled byte by byte: the value is
 * base64-encoded straight into the response Buffer and never becomes a string. That Buffer
 * lives outside V8's movable heap (secretbuf.ts), so the GC leaves no copy of it. The caller
 * wipes both the values and the returned line once it is written.
 */
import { SesameError } from '../errors.js';
import { isValidKeyName, isValidProjectName } from '../home.js';
import { b64EncodeInto, b64Length } from './b64.js';
import { allocSecret } from './secretbuf.js';

export const PROTOCOL_VERSION = 1;
/** The largest request line, in bytes, not counting its "\n". */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** The longest Unix socket path (sun_path), in bytes, without the terminating NUL. */
export const MAX_SOCKET_PATH = process.platform === 'darwin' ? 103 : 107;
/** A connection with no complete request for this long is closed. */
export const CONN_IDLE_MS = 10_000;
/** The ops this agent serves; anything else is "unknown op". */
export const OPS = ['status', 'get', 'getselected', 'stop'] as const;
export type Op = (typeof OPS)[number];

export type ProtocolReason = 'malformed' | 'version' | 'unknown_op' | 'bad_args' | 'oversize' | 'deadline';
export type RequestId = number | string;

interface Common {
  id?: RequestId;
  pid?: number;
}
export type Request =
  | (Common & { op: 'status' })
  | (Common & { op: 'stop' })
  | (Common & { op: 'get'; project: string; key: string })
  | (Common & { op: 'getselected'; project: string; only?: string[]; prefix?: string });

export type Decoded = { ok: true; req: Request } | { ok: false; error: SesameError; id?: RequestId };

const PREFIX_RE = /^[A-Za-z0-9_]{0,256}$/;
const MAX_ONLY = 4096;
const ARGS: Record<Op, readonly string[]> = { status: [], stop: [], get: ['project', 'key'], getselected: ['project', 'only', 'prefix'] };

/** A protocol error with its machine-readable reason. */
export function protocolError(reason: ProtocolReason, message: string, hint?: string): SesameError {
  return new SesameError('PROTOCOL', message, { detail: { reason }, ...(hint ? { hint } : {}) });
}

const badArgs = (message: string): SesameError => protocolError('bad_args', message, 'see docs/spec/agent-protocol.md');

/** Parses and validates one request line. Never throws. */
export function decodeRequest(line: Buffer): Decoded {
  let raw: unknown;
  try {
    raw = JSON.parse(line.toString('utf8'));
  } catch {
    return { ok: false, error: protocolError('malformed', 'malformed request: not valid JSON', 'send one JSON object per line') };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, error: protocolError('malformed', 'malformed request: not a JSON object', 'send one JSON object per line') };
  }
  const o = raw as Record<string, unknown>;
  const id = validId(o.id);
  const fail = (error: SesameError): Decoded => (id === undefined ? { ok: false, error } : { ok: false, error, id });
  if (o.id !== undefined && id === undefined) return fail(badArgs('id must be a whole number or a string of at most 64 characters'));
  if (typeof o.v !== 'number') return fail(badArgs('every request needs v, the protocol version (a number)'));
  if (o.v !== PROTOCOL_VERSION) {
    return fail(protocolError('version', `protocol version ${String(o.v)} is not supported; this agent speaks version ${PROTOCOL_VERSION}`, 'restart the agent with the same sesame version as the client'));
  }
  if (typeof o.op !== 'string') return fail(badArgs('every request needs op (a string)'));
  if (!(OPS as readonly string[]).includes(o.op)) {
    const shown = JSON.stringify(o.op.slice(0, 32));
    return fail(protocolError('unknown_op', `unknown op ${shown}`, `this agent is read-only and serves: ${OPS.join(', ')}`));
  }
  const op = o.op as Op;
  for (const k of Object.keys(o)) {
    if (!['v', 'op', 'id', 'pid', ...ARGS[op]].includes(k)) return fail(badArgs(`op ${op} takes no field ${JSON.stringify(k.slice(0, 32))}`));
  }
  if (o.pid !== undefined && !(Number.isSafeInteger(o.pid) && (o.pid as number) > 0)) return fail(badArgs('pid must be a positive whole number'));
  const common: Common = {};
  if (id !== undefined) common.id = id;
  if (o.pid !== undefined) common.pid = o.pid as number;
  try {
    return { ok: true, req: { ...common, ...args(op, o) } as Request };
  } catch (e) {
    return fail(e as SesameError);
  }
}

function validId(v: unknown): RequestId | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && v.length <= 64) return v;
  return undefined;
}

function args(op: Op, o: Record<string, unknown>): Record<string, unknown> {
  if (op === 'status' || op === 'stop') return { op };
  if (typeof o.project !== 'string' || !isValidProjectName(o.project)) throw badArgs('project must be a project name ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 characters)');
  if (op === 'get') {
    if (typeof o.key !== 'string' || !isValidKeyName(o.key)) throw badArgs('key must be a key name ([A-Za-z_][A-Za-z0-9_]*, at most 256 characters)');
    return { op, project: o.project, key: o.key };
  }
  const out: Record<string, unknown> = { op, project: o.project };
  if (o.only !== undefined) {
    if (!Array.isArray(o.only) || o.only.length > MAX_ONLY) throw badArgs(`only must be an array of at most ${MAX_ONLY} key names`);
    for (const k of o.only) if (typeof k !== 'string' || !isValidKeyName(k)) throw badArgs('every entry of only must be a key name');
    out.only = o.only;
  }
  if (o.prefix !== undefined) {
    if (typeof o.prefix !== 'string' || !PREFIX_RE.test(o.prefix)) throw badArgs('prefix must be at most 256 letters, digits or underscores');
    out.prefix = o.prefix;
  }
  return out;
}

function head(id: RequestId | undefined): string {
  return id === undefined ? `{"v":${PROTOCOL_VERSION},` : `{"v":${PROTOCOL_VERSION},"id":${JSON.stringify(id)},`;
}

/** A success line with non-secret fields. */
export function okLine(id: RequestId | undefined, fields: Record<string, unknown>): Buffer {
  const body = JSON.stringify(fields).slice(1);
  return Buffer.from(`${head(id)}"ok":true${body === '}' ? '}' : `,${body}`}\n`, 'utf8');
}

/** An error line: `{v, id?, ok:false, error:{code, message, hint?, detail?}}`. */
export function errorLine(id: RequestId | undefined, e: SesameError): Buffer {
  const err: Record<string, unknown> = { code: e.code, message: e.message };
  if (e.hint) err.hint = e.hint;
  if (e.detail && Object.keys(e.detail).length) err.detail = e.detail;
  return Buffer.from(`${head(id)}"ok":false,"error":${JSON.stringify(err)}}\n`, 'utf8');
}

/** `{v, id?, ok:true, value:"<base64>"}` built in one Buffer. The caller wipes it after writing. */
export function valueLine(id: RequestId | undefined, value: Buffer): Buffer {
  const pre = Buffer.from(`${head(id)}"ok":true,"value":"`, 'utf8');
  const out = allocSecret(pre.length + b64Length(value.length) + 3);
  pre.copy(out);
  let o = b64EncodeInto(value, out, pre.length);
  o += out.write('"}\n', o, 'latin1');
  return out;
}

/** `{v, id?, ok:true, secrets:[{key, value}], missing:[…]}` in one Buffer; the caller wipes it. */
export function secretsLine(id: RequestId | undefined, secrets: ReadonlyArray<readonly [string, Buffer]>, missing: readonly string[]): Buffer {
  const pre = Buffer.from(`${head(id)}"ok":true,"secrets":[`, 'utf8');
  const keyParts = secrets.map(([k], i) => Buffer.from(`${i ? ',' : ''}{"key":${JSON.stringify(k)},"value":"`, 'utf8'));
  const post = Buffer.from(`],"missing":${JSON.stringify(missing)}}\n`, 'utf8');
  let total = pre.length + post.length;
  secrets.forEach(([, v], i) => (total += keyParts[i]!.length + b64Length(v.length) + 2));
  const out = allocSecret(total);
  let o = pre.copy(out);
  secrets.forEach(([, v], i) => {
    o += keyParts[i]!.copy(out, o);
    o = b64EncodeInto(v, out, o);
    o += out.write('"}', o, 'latin1');
  });
  post.copy(out, o);
  return out;
}
