/**
 * The vault file, version 1 (docs/spec/vault-format.md): parsing, strict validation and
 * canonical serialisation. No keys here: everything in this module is public metadata
 * or ciphertext.
 */
import { isAscii } from 'node:buffer';
import { SesameError } from '../errors.js';
import { isValidKeyName, isValidProjectName } from '../names.js';

/** The `format` field every vault file carries; anything else is refused as not a sesame vault (INTEGRITY). */
export const FORMAT = 'sesame-vault';
/** The vault format version this sesame reads and writes; another is refused (INTEGRITY, upgrade hint). */
export const VERSION = 1;

export interface KdfRecord {
  alg: 'argon2id13';
  opslimit: number;
  memlimit: number;
  salt: string; // base64, 16 bytes
}

export interface Keyslot {
  id: string; // "passphrase"
  type: 'passphrase';
  kdf: KdfRecord;
  check: string; // base64 BLAKE2b(kek, "sesame/v1/kek-check" || vault_id)
  nonce: string; // base64, 24 bytes
  wrapped: string; // base64, master key sealed under the KEK
  sum: string; // base64 BLAKE2b checksum of the slot (accidental damage)
}

export interface EntryRecord {
  nonce: string;
  ct: string;
  created_at: string;
  updated_at: string;
  version: number;
  high_value: boolean;
}

export interface ProjectRecord {
  created_at: string;
  nonce: string;
  wrapped: string; // project data key sealed under the master key
  /** Keyed by user-chosen names: always a null-prototype object (see nameTable). */
  entries: Record<string, EntryRecord>;
}

/**
 * A record keyed by user-chosen names (projects, entries). It has no prototype, so a name
 * such as `__proto__`, `constructor` or `toString` is an ordinary own key: assigning it
 * stores it, and reading a missing one finds nothing inherited. Every such record in a
 * VaultDoc is one of these; parseVault converts what JSON.parse made (in place, O(1)).
 */
export function nameTable<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Where a parsed document keeps the exact bytes its MAC covers and that MAC (not serialised). */
export const BODY: unique symbol = Symbol('sesame.vault.body');
export interface BodyRecord {
  bytes: Buffer;
  mac: string;
  /** Set once the MAC was verified with a master key (whose master_check then matched). */
  verified?: boolean;
}

export interface VaultDoc {
  format: typeof FORMAT;
  version: typeof VERSION;
  vault_id: string; // 32 hex chars
  created_at: string;
  updated_at: string;
  keyslots: Keyslot[];
  master_check: string;
  /** Keyed by user-chosen names: always a null-prototype object (see nameTable). */
  projects: Record<string, ProjectRecord>;
  mac: string;
  [BODY]?: BodyRecord;
}

/** JSON with object keys sorted at every level: the bytes the file MAC covers. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

const damaged = (what: string): SesameError =>
  new SesameError('INTEGRITY', `integrity check failed: the vault file is damaged (${what})`, {
    hint: 'restore the vault file from a backup; nothing was changed',
  });

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
function b64(v: unknown, what: string, len?: number): string {
  if (typeof v !== 'string' || !B64.test(v) || v.length % 4 !== 0) throw damaged(`${what} is not base64`);
  if (len !== undefined && Buffer.from(v, 'base64').length !== len) throw damaged(`${what} has the wrong length`);
  return v;
}
function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length > 64) throw damaged(`${what} is not a short string`);
  return v;
}
function int(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw damaged(`${what} is not a whole number`);
  return v;
}
function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw damaged(`${what} is not an object`);
  return v as Record<string, unknown>;
}
function onlyKeys(o: Record<string, unknown>, allowed: string[], what: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw damaged(`${what} has an unknown field ${JSON.stringify(k.slice(0, 40))}`);
}

/**
 * The file ends with its MAC: `…<body>` + `,"mac":"` + 44 base64 characters + `"}` + newline.
 * The MAC covers every byte before TAIL_SEP, so the file is authenticated exactly as
 * written, with no canonicalisation step (fast on large vaults).
 */
export const TAIL_SEP = Buffer.from(',"mac":"');
const TAIL_END = Buffer.from('"}\n');
const MAC_CHARS = 44;

/** Parses and strictly validates a vault file. Throws INTEGRITY with what is wrong. */
export function parseVault(bytes: Buffer): VaultDoc {
  const sep = bytes.lastIndexOf(TAIL_SEP);
  if (sep < 0 || bytes.length !== sep + TAIL_SEP.length + MAC_CHARS + TAIL_END.length || !bytes.subarray(bytes.length - TAIL_END.length).equals(TAIL_END)) {
    let isJson = true;
    try {
      JSON.parse(bytes.toString('utf8'));
    } catch {
      isJson = false;
    }
    throw damaged(isJson ? 'the file does not end with its MAC' : 'not valid JSON');
  }
  const doc = parseDoc(bytes);
  if (doc.mac !== bytes.toString('latin1', sep + TAIL_SEP.length, sep + TAIL_SEP.length + MAC_CHARS)) throw damaged('the MAC field is not where it belongs');
  const body: BodyRecord = { bytes: bytes.subarray(0, sep), mac: doc.mac };
  Object.defineProperty(doc, BODY, { value: body, enumerable: false, writable: true });
  return doc;
}

function parseDoc(bytes: Buffer): VaultDoc {
  // Every field of the format is ASCII (base64, hex, names, times), so a byte above 0x7f is
  // damage; decoding as latin1 then gives V8 a fast one-byte string.
  if (!isAscii(bytes)) throw damaged('a byte outside ASCII');
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('latin1'));
  } catch {
    throw damaged('not valid JSON');
  }
  const o = obj(raw, 'the file');
  if (o.format !== FORMAT) throw damaged('not a sesame vault');
  if (o.version !== VERSION) {
    throw new SesameError('INTEGRITY', `unsupported vault format version ${JSON.stringify(o.version)} (this sesame reads version ${VERSION})`, {
      hint: 'upgrade sesame to open this vault',
    });
  }
  onlyKeys(o, ['format', 'version', 'vault_id', 'created_at', 'updated_at', 'keyslots', 'master_check', 'projects', 'mac'], 'the file');
  if (typeof o.vault_id !== 'string' || !/^[0-9a-f]{32}$/.test(o.vault_id)) throw damaged('vault_id');
  str(o.created_at, 'created_at');
  str(o.updated_at, 'updated_at');
  b64(o.master_check, 'master_check', 32);
  b64(o.mac, 'mac', 32);
  if (!Array.isArray(o.keyslots) || o.keyslots.length < 1 || o.keyslots.length > 16) throw damaged('keyslots');
  for (const [i, ks] of o.keyslots.entries()) {
    const s = obj(ks, `keyslot ${i}`);
    onlyKeys(s, ['id', 'type', 'kdf', 'check', 'nonce', 'wrapped', 'sum'], `keyslot ${i}`);
    str(s.id, 'keyslot id');
    if (s.type !== 'passphrase') throw damaged(`keyslot ${i} type`);
    const k = obj(s.kdf, `keyslot ${i} kdf`);
    onlyKeys(k, ['alg', 'opslimit', 'memlimit', 'salt'], `keyslot ${i} kdf`);
    if (k.alg !== 'argon2id13') throw damaged(`keyslot ${i} kdf algorithm`);
    int(k.opslimit, 'opslimit');
    int(k.memlimit, 'memlimit');
    b64(k.salt, 'salt', 16);
    b64(s.check, 'check', 32);
    b64(s.nonce, 'nonce', 24);
    b64(s.wrapped, 'wrapped key', 48);
    b64(s.sum, 'keyslot sum', 32);
  }
  const projects = obj(o.projects, 'projects');
  // JSON.parse defines "__proto__" as an own key, but later assignments to such a record
  // would hit Object.prototype's setter: drop the prototype of every user-keyed record.
  Object.setPrototypeOf(projects, null);
  for (const [pname, pv] of Object.entries(projects)) {
    if (!isValidProjectName(pname)) throw damaged('a project has an invalid name');
    const p = obj(pv, `project ${pname}`);
    onlyKeys(p, ['created_at', 'nonce', 'wrapped', 'entries'], `project ${pname}`);
    str(p.created_at, 'project created_at');
    b64(p.nonce, 'project nonce', 24);
    b64(p.wrapped, 'project key', 48);
    const entries = obj(p.entries, `project ${pname} entries`);
    Object.setPrototypeOf(entries, null);
    for (const kname in entries) {
      if (!isValidKeyName(kname)) throw damaged(`project ${pname} has an invalid key name`);
      checkEntry(entries[kname], kname);
    }
  }
  return o as unknown as VaultDoc;
}

/**
 * One entry, checked cheaply (this runs 10,000 times on a large vault): exactly the six
 * known fields with the right types. The AEAD rejects anything the checks let through.
 */
function checkEntry(ev: unknown, kname: string): void {
  if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) throw damaged(`entry ${kname} is not an object`);
  const e = ev as Record<string, unknown>;
  let n = 0;
  for (const _ in e) n++;
  if (
    n !== 6 ||
    typeof e.nonce !== 'string' ||
    e.nonce.length !== 32 ||
    typeof e.ct !== 'string' ||
    e.ct.length < 24 ||
    e.ct.length % 4 !== 0 ||
    typeof e.created_at !== 'string' ||
    typeof e.updated_at !== 'string' ||
    e.created_at.length > 64 ||
    e.updated_at.length > 64 ||
    typeof e.version !== 'number' ||
    !Number.isSafeInteger(e.version) ||
    e.version < 0 ||
    typeof e.high_value !== 'boolean'
  ) {
    throw damaged(`entry ${kname} is malformed`);
  }
}

/**
 * The bytes written to disk: the document without its MAC as compact JSON, then the
 * MAC of exactly those bytes (computed by `macOf`) as the last field. Returned as two
 * pieces (body, tail) so a large vault is never copied once more to join them.
 */
export function serializeVault(doc: VaultDoc, macOf: (body: Buffer) => string): [Buffer, Buffer] {
  const { mac: _m, ...rest } = doc;
  const text = JSON.stringify(rest);
  const body = Buffer.from(text.slice(0, -1), 'latin1'); // drop the closing "}" (all ASCII)
  const mac = macOf(body);
  if (mac.length !== MAC_CHARS) throw new SesameError('ERROR', 'internal: bad MAC length');
  doc.mac = mac;
  return [body, Buffer.concat([TAIL_SEP, Buffer.from(mac, 'latin1'), TAIL_END])];
}
