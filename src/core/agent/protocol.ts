/**
 * The agent protocol, version 1 (docs/spec/agent-protocol.md, Part 1): constants, request
 * validation, and response lines; plus the pieces version 2 (protocol-v2.ts) shares: the
 * line parser, the op argument rules, and the secret-bearing builders (`valueAfter`,
 * `secretsAfter`) that both versions' frames use. Pure: no sockets, no keys, no libsodium, no koffi (the
 * client imports this module).
 *
 * Every request is validated completely here, before the vault is touched. A validation
 * failure is a SesameError with code PROTOCOL and `detail.reason` one of ProtocolReason.
 *
 * Secret responses (`valueLine`, `secretsLine`) are assembled byte by byte: the value is
 * base64-encoded straight into the response Buffer and never becomes a string. That Buffer
 * lives outside V8's movable heap (core/bytes.ts), so the GC leaves no copy of it. The caller
 * wipes both the values and the returned line once it is written.
 */
import { SesameError } from '../errors.js';
import { isValidKeyName, isValidProjectName } from '../names.js';
import { b64EncodeInto, b64Length } from './b64.js';
import { allocSecret } from '../bytes.js';

/** The protocol version of this agent's v1 answers (`v` in every reply line; docs/spec/agent-protocol.md). */
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

export type ProtocolReason = 'malformed' | 'version' | 'unknown_op' | 'bad_args' | 'oversize' | 'deadline' | 'duplicate_id' | 'too_many';
/** Every protocol version this agent answers, ascending (docs/spec/agent-protocol.md, Part 2). */
export const PROTOCOLS = [1, 2] as const;
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
/** Each v1 op's own fields (version 2 adds `list`). */
export const ARGS: Record<Op, readonly string[]> = { status: [], stop: [], get: ['project', 'key'], getselected: ['project', 'only', 'prefix'] };

/** A protocol error with its machine-readable reason. */
export function protocolError(reason: ProtocolReason, message: string, hint?: string): SesameError {
  return new SesameError('PROTOCOL', message, { detail: { reason }, ...(hint ? { hint } : {}) });
}

/** A `bad_args` error with the spec's hint. */
export const badArgs = (message: string): SesameError => protocolError('bad_args', message, 'see docs/spec/agent-protocol.md');

/**
 * Parses one request line into a JSON object, or the v1-form `malformed` error. Never throws.
 * Residual: JSON.parse makes every member a JS string (a `token`, version 2, included); the
 * decoders keep none of them past validation except names, which are not secret.
 */
export function parseRequestLine(line: Buffer): { ok: true; o: Record<string, unknown> } | { ok: false; error: SesameError } {
  let raw: unknown;
  try {
    raw = JSON.parse(line.toString('utf8'));
  } catch {
    return { ok: false, error: protocolError('malformed', 'malformed request: not valid JSON', 'send one JSON object per line') };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, error: protocolError('malformed', 'malformed request: not a JSON object', 'send one JSON object per line') };
  }
  return { ok: true, o: raw as Record<string, unknown> };
}

/** Parses and validates one version-1 request line (Part 1). Never throws. */
export function decodeRequest(line: Buffer): Decoded {
  const p = parseRequestLine(line);
  return p.ok ? decodeV1(p.o) : { ok: false, error: p.error };
}

/** The version error for a `v` this agent does not speak (v1 form; Part 2, "Choosing the version of a line"). */
export function versionError(v: number): SesameError {
  return new SesameError('PROTOCOL', `protocol version ${String(v)} is not supported; this agent speaks versions 1 and 2`, {
    hint: 'restart the agent with the same sesame version as the client',
    detail: { reason: 'version', supported: [...PROTOCOLS] },
  });
}

/** Validates a parsed request object as Part 1 does (a `v` other than 1 is a version error). Never throws. */
export function decodeV1(o: Record<string, unknown>): Decoded {
  const id = validId(o.id);
  const fail = (error: SesameError): Decoded => (id === undefined ? { ok: false, error } : { ok: false, error, id });
  if (o.id !== undefined && id === undefined) return fail(badArgs('id must be a whole number or a string of at most 64 characters'));
  if (typeof o.v !== 'number') return fail(badArgs('every request needs v, the protocol version (a number)'));
  if (o.v !== PROTOCOL_VERSION) return fail(versionError(o.v));
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
    return { ok: true, req: { ...common, ...opArgs(op, o) } as Request };
  } catch (e) {
    return fail(e as SesameError);
  }
}

/** A valid request id (Part 1's form), or undefined. */
export function validId(v: unknown): RequestId | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && v.length <= 64) return v;
  return undefined;
}

const badProject = (): SesameError => badArgs('project must be a project name ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 characters)');

/** The op's own fields, validated (Part 1's forms); throws the bad_args SesameError. */
export function opArgs(op: Op | 'list', o: Record<string, unknown>): Record<string, unknown> {
  if (op === 'status' || op === 'stop') return { op };
  if (op === 'list') {
    const out: Record<string, unknown> = { op };
    if (o.project !== undefined) {
      if (typeof o.project !== 'string' || !isValidProjectName(o.project)) throw badProject();
      out.project = o.project;
    }
    if (o.prefix !== undefined) out.prefix = checkPrefix(o.prefix);
    return out;
  }
  if (typeof o.project !== 'string' || !isValidProjectName(o.project)) throw badProject();
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
  if (o.prefix !== undefined) out.prefix = checkPrefix(o.prefix);
  return out;
}

function checkPrefix(p: unknown): string {
  if (typeof p !== 'string' || !PREFIX_RE.test(p)) throw badArgs('prefix must be at most 256 letters, digits or underscores');
  return p;
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
  return Buffer.from(`${head(id)}"ok":false,"error":${errorJson(e)}}\n`, 'utf8');
}

/**
 * The wire form of an error: `{code, message, hint?, detail?}` as JSON text (never secret);
 * version 2 adds the machine-readable `remedy` when the error has one (`withRemedy`).
 */
export function errorJson(e: SesameError, withRemedy = false): string {
  const err: Record<string, unknown> = { code: e.code, message: e.message };
  if (e.hint) err.hint = e.hint;
  if (withRemedy && e.remedy) err.remedy = e.remedy;
  if (e.detail && Object.keys(e.detail).length) err.detail = e.detail;
  return JSON.stringify(err);
}

/** `{v, id?, ok:true, value:"<base64>"}` built in one Buffer. The caller wipes it after writing. */
export function valueLine(id: RequestId | undefined, value: Buffer): Buffer {
  return valueAfter(`${head(id)}"ok":true`, value);
}

/** `PRE,"value":"<base64>"}\n` in one off-heap Buffer (PRE opens the object and is not secret). */
export function valueAfter(open: string, value: Buffer): Buffer {
  const pre = Buffer.from(`${open},"value":"`, 'utf8');
  const out = allocSecret(pre.length + b64Length(value.length) + 3);
  pre.copy(out);
  const o = b64EncodeInto(value, out, pre.length);
  out.write('"}\n', o, 'latin1');
  return out;
}

/** `{v, id?, ok:true, secrets:[{key, value}], missing:[…]}` in one Buffer; the caller wipes it. */
export function secretsLine(id: RequestId | undefined, secrets: ReadonlyArray<readonly [string, Buffer]>, missing: readonly string[]): Buffer {
  return secretsAfter(`${head(id)}"ok":true`, secrets, missing);
}

/** `PRE,"secrets":[{key, value}…],"missing":[…]}\n` in one off-heap Buffer; the caller wipes it. */
export function secretsAfter(open: string, secrets: ReadonlyArray<readonly [string, Buffer]>, missing: readonly string[]): Buffer {
  return pairsAfter(open, 'secrets', secrets, `,"missing":${JSON.stringify(missing)}}\n`);
}

/**
 * `PRE,"MEMBER":[{"key":K,"value":"<base64>"},…]CLOSE` in one off-heap Buffer: the one builder
 * of a line carrying several values (`secretsAfter`, write-wire.ts `entriesAfter`). PRE, MEMBER,
 * the keys and CLOSE are not secret; the caller wipes the result.
 */
export function pairsAfter(open: string, member: string, pairs: ReadonlyArray<readonly [string, Buffer]>, close: string): Buffer {
  const pre = Buffer.from(`${open},${JSON.stringify(member)}:[`, 'utf8');
  const keyParts = pairs.map(([k], i) => Buffer.from(`${i ? ',' : ''}{"key":${JSON.stringify(k)},"value":"`, 'utf8'));
  const post = Buffer.from(`]${close}`, 'utf8');
  let total = pre.length + post.length;
  pairs.forEach(([, v], i) => (total += keyParts[i]!.length + b64Length(v.length) + 2));
  const out = allocSecret(total);
  let o = pre.copy(out);
  pairs.forEach(([, v], i) => {
    o += keyParts[i]!.copy(out, o);
    o = b64EncodeInto(v, out, o);
    o += out.write('"}', o, 'latin1');
  });
  post.copy(out, o);
  return out;
}
