/**
 * The vault file, version 2 (docs/spec/vault-format.md): parsing, strict validation and
 * canonical serialisation. Version 1 (no history, no removed keys) is still read; a writer
 * always writes version 2 (`upgradeDoc`, called by the vault on its first write). No keys here: everything in this module is public metadata
 * or ciphertext.
 */
import { isAscii } from 'node:buffer';
import { SesameError } from '../errors.js';
import { isValidKeyName, isValidProjectName } from '../names.js';

/** The `format` field every vault file carries; anything else is refused as not a sesame vault (INTEGRITY). */
export const FORMAT = 'sesame-vault';
/** The vault format version this sesame writes; it also reads READABLE_VERSIONS, and refuses any other (INTEGRITY, upgrade hint). */
export const VERSION = 2;
/** Every vault format version this sesame reads: 1 (no history) and 2. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];

/**
 * One earlier value of a key (version 2): sealed under the project key with the history AD,
 * which binds it to the vault, project, key AND its version number (vault.ts `AD.history`).
 */
export interface HistoryRecord {
  nonce: string;
  ct: string;
  version: number;
  updated_at: string;
  high_value: boolean;
}

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
  /** Earlier values, oldest first (version 2; absent in a version-1 file until its first write). */
  history?: HistoryRecord[];
}

/** A removed key (version 2): its last value and history, recoverable until purged. */
export interface RemovedRecord extends EntryRecord {
  removed_at: string;
}

export interface ProjectRecord {
  created_at: string;
  nonce: string;
  wrapped: string; // project data key sealed under the master key
  /** Keyed by user-chosen names: always a null-prototype object (see nameTable). */
  entries: Record<string, EntryRecord>;
  /** Removed keys, recoverable with `restore` (version 2; absent in version 1). A name is never in both tables. */
  removed?: Record<string, RemovedRecord>;
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
  version: 1 | typeof VERSION;
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
  if (typeof o.version !== 'number' || !READABLE_VERSIONS.includes(o.version)) {
    throw new SesameError('INTEGRITY', `unsupported vault format version ${JSON.stringify(o.version)} (this sesame reads versions ${READABLE_VERSIONS.join(' and ')})`, {
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
    const v2 = o.version === 2;
    onlyKeys(p, v2 ? ['created_at', 'nonce', 'wrapped', 'entries', 'removed'] : ['created_at', 'nonce', 'wrapped', 'entries'], `project ${pname}`);
    str(p.created_at, 'project created_at');
    b64(p.nonce, 'project nonce', 24);
    b64(p.wrapped, 'project key', 48);
    const entries = obj(p.entries, `project ${pname} entries`);
    Object.setPrototypeOf(entries, null);
    for (const kname in entries) {
      if (!isValidKeyName(kname)) throw damaged(`project ${pname} has an invalid key name`);
      checkEntry(entries[kname], kname, v2 ? 'live' : 'v1');
    }
    if (!v2) continue;
    const removed = obj(p.removed, `project ${pname} removed`);
    Object.setPrototypeOf(removed, null);
    for (const kname in removed) {
      if (!isValidKeyName(kname)) throw damaged(`project ${pname} has an invalid removed key name`);
      if (Object.hasOwn(entries, kname)) throw damaged(`project ${pname} has ${kname} both live and removed`);
      checkEntry(removed[kname], kname, 'removed');
    }
  }
  return o as unknown as VaultDoc;
}

/**
 * One entry, checked cheaply (this runs 10,000 times on a large vault): exactly the known
 * fields with the right types (six in version 1; plus `history` in version 2; plus
 * `removed_at` for a removed key). The AEAD rejects anything the checks let through.
 */
function checkEntry(ev: unknown, kname: string, kind: 'v1' | 'live' | 'removed'): void {
  if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) throw damaged(`entry ${kname} is not an object`);
  const e = ev as Record<string, unknown>;
  let n = 0;
  for (const _ in e) n++;
  if (kind !== 'v1') {
    if (!Array.isArray(e.history) || e.history.length > MAX_HISTORY) throw damaged(`entry ${kname} has no history list`);
    let last = 0;
    for (const h of e.history as unknown[]) last = checkHistory(h, kname, last);
    if (typeof e.version === 'number' && e.version <= last) throw damaged(`entry ${kname} is older than its history`);
  }
  if (kind === 'removed' && (typeof e.removed_at !== 'string' || e.removed_at.length > 64)) throw damaged(`removed entry ${kname} is malformed`);
  if (
    n !== (kind === 'v1' ? 6 : kind === 'live' ? 7 : 8) ||
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

/** The most versions a key's history may hold (config `history` is bounded by it). */
export const MAX_HISTORY = 1000;

/** One history record: exactly five fields, versions strictly increasing (returns this one's). */
function checkHistory(hv: unknown, kname: string, after: number): number {
  if (hv === null || typeof hv !== 'object' || Array.isArray(hv)) throw damaged(`a history entry of ${kname} is not an object`);
  const h = hv as Record<string, unknown>;
  let n = 0;
  for (const _ in h) n++;
  if (
    n !== 5 ||
    typeof h.nonce !== 'string' ||
    h.nonce.length !== 32 ||
    typeof h.ct !== 'string' ||
    h.ct.length < 24 ||
    h.ct.length % 4 !== 0 ||
    typeof h.updated_at !== 'string' ||
    h.updated_at.length > 64 ||
    typeof h.version !== 'number' ||
    !Number.isSafeInteger(h.version) ||
    h.version <= after ||
    typeof h.high_value !== 'boolean'
  ) {
    throw damaged(`a history entry of ${kname} is malformed`);
  }
  return h.version;
}

/**
 * Makes a parsed version-1 document a version-2 one in place (every entry gets an empty
 * history, every project an empty removed table). Called by the vault before its first write;
 * the file on disk is unchanged until that write lands.
 */
export function upgradeDoc(doc: VaultDoc): void {
  if (doc.version === VERSION) return;
  for (const p of Object.values(doc.projects)) {
    for (const k in p.entries) p.entries[k]!.history ??= [];
    p.removed ??= nameTable();
  }
  doc.version = VERSION;
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
