/**
 * The `write` op's wire form (docs/spec/agent-protocol.md, "write"), shared by the agent's
 * decoder (protocol-v2.ts) and the client (write-client.ts): which members a request
 * carries, and a WriteOp to and from them. Pure: no sockets, no keys.
 *
 * A `set` value travels as base64 in `value`. The client appends it byte by byte into an
 * off-heap line (client.ts `request`, `value`). On the agent, JSON.parse of the request line
 * made it a JS string — the residual (docs/threat-model.md) — which is decoded at once into
 * an off-heap Buffer and dropped from the parsed object; the connection wipes the line.
 */
import { isValidKeyName, isValidProjectName } from '../../names.js';
import { allocSecret } from '../../bytes.js';
import type { WriteOp } from '../../vault/writes.js';
import { b64Decode } from '../b64.js';
import { badArgs } from '../protocol.js';

/** The members a `write` request may carry besides v, id, op, pid, token. */
export const WRITE_FIELDS: readonly string[] = ['write', 'project', 'key', 'to_project', 'to_key', 'to', 'force', 'high_value', 'version', 'value'];
/** The changes the `write` op makes (core/vault/writes.ts WriteOp's `op`). */
export const WRITE_KINDS: readonly string[] = ['set', 'rm', 'restore', 'purge', 'rollback', 'mv', 'cp', 'project_rename'];

const needKey = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || !isValidKeyName(v)) throw badArgs(`${what} must be a key name`);
  return v;
};
const needProject = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || !isValidProjectName(v)) throw badArgs(`${what} must be a project name`);
  return v;
};

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
      if (typeof o.value !== 'string') throw badArgs('write set needs value (base64)');
      const text = allocSecret(o.value.length);
      text.write(o.value, 'latin1');
      delete o.value; // the residual JS string is unreferenced from here on
      const value = b64Decode(text);
      text.fill(0);
      if (!value) throw badArgs('value must be standard base64 with padding');
      return { op: 'write', write: { op: 'set', project, key, value, ...(typeof o.high_value === 'boolean' ? { highValue: o.high_value } : {}) } };
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

/** The request members of a WriteOp, without a set's value (the client appends that as base64 bytes). */
export function writeFields(w: WriteOp): Record<string, unknown> {
  switch (w.op) {
    case 'set':
      return { op: 'write', write: 'set', project: w.project, key: w.key, ...(w.highValue === undefined ? {} : { high_value: w.highValue }) };
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
