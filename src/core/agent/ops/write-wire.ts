/**
 * The `write` op's wire form (docs/spec/agent-protocol.md, "write"), shared by the agent's
 * decoder (protocol-v2.ts) and the client (write-client.ts): which members a request
 * carries, and a WriteOp to and from them. Pure: no sockets, no keys.
 *
 * A `set` value travels as base64 in `value`. The client appends it byte by byte into an
 * off-heap line (client.ts `request`, `value`). On the agent, JSON.parse of the request line
 * made it a JS string — the residual (docs/threat-model.md) — which is decoded at once into
 * an off-heap Buffer and dropped from the parsed object; the connection wipes the line.
 * An `import` carries several values the same way, as its last member
 * `"entries":[{"key":…,"value":"<base64>"},…]` (built off-heap by `entriesAfter`), all
 * written in one atomic write. The whole line is at most 64 KiB (protocol.ts
 * MAX_REQUEST_BYTES): `writeLineFits` tells the client whether a write fits.
 */
import { isValidKeyName, isValidProjectName } from '../../names.js';
import { allocSecret } from '../../bytes.js';
import type { WriteOp } from '../../vault/writes.js';
import { b64Decode, b64Length } from '../b64.js';
import { MAX_REQUEST_BYTES, badArgs, pairsAfter } from '../protocol.js';

/** The members a `write` request may carry besides v, id, op, pid, token. */
export const WRITE_FIELDS: readonly string[] = ['write', 'project', 'key', 'to_project', 'to_key', 'to', 'force', 'high_value', 'version', 'overwrite', 'value', 'entries'];
/** The changes the `write` op makes (core/vault/writes.ts WriteOp's `op`). */
export const WRITE_KINDS: readonly string[] = ['set', 'import', 'rm', 'restore', 'purge', 'rollback', 'mv', 'cp', 'project_rename'];

const needKey = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || !isValidKeyName(v)) throw badArgs(`${what} must be a key name`);
  return v;
};
const needProject = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || !isValidProjectName(v)) throw badArgs(`${what} must be a project name`);
  return v;
};

/** Decodes `holder.value` (base64) into an off-heap Buffer the caller wipes, and drops the JS string from `holder`. */
function takeValue(holder: Record<string, unknown>, what: string): Buffer {
  if (typeof holder.value !== 'string') throw badArgs(`${what} needs value (base64)`);
  const text = allocSecret(holder.value.length);
  text.write(holder.value, 'latin1');
  delete holder.value; // the residual JS string is unreferenced from here on
  const value = b64Decode(text);
  text.fill(0);
  if (!value) throw badArgs('value must be standard base64 with padding');
  return value;
}

/** An import's `entries`: 1 or more `{key, value}` objects, each key once; every value decoded off-heap (all wiped on a refusal), every JS string dropped. */
function takeEntries(raw: unknown): Array<[string, Buffer]> {
  if (!Array.isArray(raw) || raw.length < 1) throw badArgs('write import needs entries: [{"key": …, "value": base64}, …], at least one');
  const entries: Array<[string, Buffer]> = [];
  const seen = new Set<string>();
  try {
    for (const e of raw as unknown[]) {
      if (e === null || typeof e !== 'object' || Array.isArray(e)) throw badArgs('each entry must be an object {key, value}');
      const r = e as Record<string, unknown>;
      for (const k of Object.keys(r)) if (k !== 'key' && k !== 'value') throw badArgs(`an entry takes no field ${JSON.stringify(k.slice(0, 32))}`);
      const key = needKey(r.key, "an entry's key");
      if (seen.has(key)) throw badArgs(`entries name ${key} more than once`);
      seen.add(key);
      entries.push([key, takeValue(r, `entry ${key}`)]);
    }
    return entries;
  } catch (e) {
    for (const [, b] of entries) b.fill(0);
    throw e;
  } finally {
    for (const e of raw as unknown[]) if (e !== null && typeof e === 'object') delete (e as Record<string, unknown>).value;
  }
}

/**
 * Validates a parsed `write` request (no field outside WRITE_FIELDS was already checked) into
 * a WriteOp. A `set` value is decoded into an off-heap Buffer the caller wipes; its JS string
 * is dropped from `o`. Throws PROTOCOL bad_args.
 */
export function decodeWriteArgs(o: Record<string, unknown>): { op: 'write'; write: WriteOp } {
  const kind = o.write;
  if (typeof kind !== 'string' || !WRITE_KINDS.includes(kind)) throw badArgs(`write must be one of: ${WRITE_KINDS.join(', ')}`);
  const project = needProject(o.project, 'project');
  const force = o.force === undefined ? false : o.force;
  if (typeof force !== 'boolean') throw badArgs('force must be true or false');
  const allowed: Record<string, readonly string[]> = {
    set: ['key', 'value', 'high_value'],
    import: ['entries', 'overwrite'],
    rm: ['key'],
    restore: ['key'],
    purge: ['key'],
    rollback: ['key', 'version'],
    mv: ['key', 'to_key', 'force'],
    cp: ['key', 'to_project', 'to_key', 'force'],
    project_rename: ['to'],
  };
  for (const k of WRITE_FIELDS) if (!['write', 'project', ...allowed[kind]!].includes(k) && o[k] !== undefined) throw badArgs(`write ${kind} takes no field ${k}`);
  switch (kind) {
    case 'set': {
      const key = needKey(o.key, 'key');
      if (o.high_value !== undefined && typeof o.high_value !== 'boolean') throw badArgs('high_value must be true or false');
      const value = takeValue(o, 'write set');
      return { op: 'write', write: { op: 'set', project, key, value, ...(typeof o.high_value === 'boolean' ? { highValue: o.high_value } : {}) } };
    }
    case 'import': {
      if (o.overwrite !== undefined && typeof o.overwrite !== 'boolean') throw badArgs('overwrite must be true or false');
      const overwrite = o.overwrite === true;
      const raw = o.entries;
      delete o.entries;
      return { op: 'write', write: { op: 'import', project, entries: takeEntries(raw), ...(overwrite ? { overwrite: true } : {}) } };
    }
    case 'rm':
    case 'restore':
    case 'purge':
      return { op: 'write', write: { op: kind, project, key: needKey(o.key, 'key') } };
    case 'rollback': {
      if (o.version !== undefined && !(Number.isSafeInteger(o.version) && (o.version as number) > 0)) throw badArgs('version must be a whole number from 1');
      return { op: 'write', write: { op: 'rollback', project, key: needKey(o.key, 'key'), ...(o.version === undefined ? {} : { to: o.version as number }) } };
    }
    case 'mv':
    case 'cp':
      return {
        op: 'write',
        write: {
          op: kind,
          project,
          key: needKey(o.key, 'key'),
          toProject: kind === 'cp' ? needProject(o.to_project, 'to_project') : project,
          toKey: needKey(o.to_key, 'to_key'),
          ...(force ? { force: true } : {}),
        },
      };
    default:
      return { op: 'write', write: { op: 'project_rename', project, to: needProject(o.to, 'to') } };
  }
}

/** The request members of a WriteOp, without a set's value or an import's entries (the client appends those as base64 bytes). */
export function writeFields(w: WriteOp): Record<string, unknown> {
  switch (w.op) {
    case 'set':
      return { op: 'write', write: 'set', project: w.project, key: w.key, ...(w.highValue === undefined ? {} : { high_value: w.highValue }) };
    case 'import':
      return { op: 'write', write: 'import', project: w.project, ...(w.overwrite ? { overwrite: true } : {}) };
    case 'rm':
    case 'restore':
    case 'purge':
      return { op: 'write', write: w.op, project: w.project, key: w.key };
    case 'rollback':
      return { op: 'write', write: 'rollback', project: w.project, key: w.key, ...(w.to === undefined ? {} : { version: w.to }) };
    case 'mv':
      return { op: 'write', write: 'mv', project: w.project, key: w.key, to_key: w.toKey, ...(w.force ? { force: true } : {}) };
    case 'cp':
      return { op: 'write', write: 'cp', project: w.project, key: w.key, to_project: w.toProject, to_key: w.toKey, ...(w.force ? { force: true } : {}) };
    case 'project_rename':
      return { op: 'write', write: 'project_rename', project: w.project, to: w.to };
  }
}

/** `OPEN,"entries":[{"key":K,"value":"<base64>"},…]}\n` in one off-heap Buffer (an import's request line; `open` is the head without its closing brace). The caller wipes it. */
export function entriesAfter(open: string, entries: ReadonlyArray<readonly [string, Buffer]>): Buffer {
  return pairsAfter(open, 'entries', entries, '}\n');
}

/** Room kept in a request line for `v`, `id`, `op`, `pid` and the other members besides the values. */
const HEAD_ROOM = 1024;

/**
 * true when the request line of `w` stays within MAX_REQUEST_BYTES (64 KiB) with room for its
 * other members: a set's value of at most about 47 KiB, an import's entries (names and base64
 * values) in about 63 KiB. A write that does not fit is made directly by the CLI.
 */
export function writeLineFits(w: WriteOp): boolean {
  if (w.op === 'set') return HEAD_ROOM + Buffer.byteLength(w.key) + b64Length(w.value.length) <= MAX_REQUEST_BYTES;
  if (w.op !== 'import') return true;
  let n = HEAD_ROOM + Buffer.byteLength(w.project);
  for (const [k, v] of w.entries) n += 22 + Buffer.byteLength(k) + b64Length(v.length);
  return n <= MAX_REQUEST_BYTES;
}
