/**
 * An opened vault: the document plus the master key in guarded memory.
 *
 * Key hierarchy (docs/spec/vault-format.md):
 *   passphrase --Argon2id--> KEK --unwraps--> master key (random, 32 bytes)
 *   master key --unwraps--> project data key (one per project)
 *   project key --XChaCha20-Poly1305, AD = vault id | project | key name--> value
 * The master key also MACs the whole file (canonical JSON), so any change made without it
 * is detected. A passphrase change re-wraps only the master key.
 *
 * Reads are split so that names are decided before anything is decrypted: `select`, `list`
 * and `entry` read names and metadata only; `[DECRYPT]` decrypts, and only the plaintext
 * door (src/core/access.ts) reaches it, after authorizing the names. Values come back as
 * Buffers off V8's movable heap; the caller wipes them (crypto.wipe) after use.
 */
import { SesameError } from '../errors.js';
import { KDF_DEFAULT, SALT_BYTES, SecureKey, checkKdfParams, checksum, deriveKey, equalBytes as eq, mac, open, openKey, randomBytes, seal, wipe } from '../crypto/sodium.js';
import { checkKeyName, checkProjectName } from '../names.js';
import { checkProjectDeletable } from './projects.js';
import { BODY, FORMAT, VERSION, canonicalJson, nameTable, serializeVault, upgradeDoc, type EntryRecord, type HistoryRecord, type Keyslot, type VaultDoc } from './format.js';
import { DEFAULT_PROJECT } from '../names.js';

const enc = (b: Buffer): string => b.toString('base64');
const dec = (s: string): Buffer => Buffer.from(s, 'base64');
const now = (): string => new Date().toISOString();

const AD = {
  keyslot: (vid: string, slot: string) => Buffer.from(`sesame/v1/keyslot\0${vid}\0${slot}`),
  kekCheck: (vid: string) => Buffer.from(`sesame/v1/kek-check\0${vid}`),
  masterCheck: (vid: string) => Buffer.from(`sesame/v1/master-check\0${vid}`),
  fileMac: (vid: string) => Buffer.from(`sesame/v1/file-mac\0${vid}\0`),
  projectKey: (vid: string, project: string) => Buffer.from(`sesame/v1/project-key\0${vid}\0${project}`),
  entry: (vid: string, project: string, key: string) => Buffer.from(`sesame/v1/entry\0${vid}\0${project}\0${key}`),
  history: (vid: string, project: string, key: string, version: number) => Buffer.from(`sesame/v2/history\0${vid}\0${project}\0${key}\0${version}`),
};

/** How many earlier versions of a key the vault keeps when config.toml says nothing (`history = N`). */
export const DEFAULT_HISTORY = 10;

/** One value of a key during a re-seal (plaintext in guarded memory; wiped by the vault). */
interface Plain {
  value: Buffer;
  version: number;
  updated_at: string;
  high_value: boolean;
}

export interface KdfChoice {
  opslimit: number;
  memlimit: number;
}

export interface EntryInfo {
  key: string;
  created_at: string;
  updated_at: string;
  version: number;
  high_value: boolean;
}

export interface Selection {
  only?: string[];
  prefix?: string;
}

/**
 * @internal The key to the vault's decrypting method (`UnlockedVault[DECRYPT]`). Only
 * src/core/access.ts, the plaintext door, may import it (test/unit/access-layer.test.ts).
 */
export const DECRYPT: unique symbol = Symbol('sesame.vault.decrypt');

/** The error for a project that does not exist; the plaintext door answers an out-of-scope project with exactly this. */
export function projectNotFound(project: string): SesameError {
  return new SesameError('NOT_FOUND', `project ${project} does not exist`, { remedy: 'projects_create' });
}

/** The error for a key that does not exist in a project; the plaintext door answers an out-of-scope key with exactly this. */
export function keyNotFound(project: string, key: string): SesameError {
  return new SesameError('NOT_FOUND', `no key ${key} in project ${project}`, { remedy: 'list_keys', detail: { key, project } });
}

const integrity = (what: string): SesameError =>
  new SesameError('INTEGRITY', `integrity check failed: ${what}`, { hint: 'the vault file is damaged or was modified outside sesame; restore it from a backup' });

/** The keyslot's damage checksum (unkeyed; exported for tests and tools). */
export function slotSum(vid: string, s: Omit<Keyslot, 'sum'>): string {
  return enc(checksum(Buffer.from(`sesame/v1/keyslot-sum\0${vid}\0${canonicalJson(s)}`)));
}

function makeKeyslot(vid: string, master: SecureKey, passphrase: Buffer, kdf: KdfChoice): Keyslot {
  checkKdfParams(kdf, 'the requested settings');
  const salt = randomBytes(SALT_BYTES);
  const kek = deriveKey(passphrase, { alg: 'argon2id13', opslimit: kdf.opslimit, memlimit: kdf.memlimit, salt });
  try {
    const check = mac(kek, AD.kekCheck(vid));
    const { nonce, ct } = master.use((m) => seal(kek, m, AD.keyslot(vid, 'passphrase')));
    const s: Omit<Keyslot, 'sum'> = {
      id: 'passphrase',
      type: 'passphrase',
      kdf: { alg: 'argon2id13', opslimit: kdf.opslimit, memlimit: kdf.memlimit, salt: enc(salt) },
      check: enc(check),
      nonce: enc(nonce),
      wrapped: enc(ct),
    };
    return { ...s, sum: slotSum(vid, s) };
  } finally {
    kek.dispose();
  }
}

/**
 * An opened vault: the document and its master key in guarded memory (see the header). Create, unlock or
 * wrap one, read names before values, mutate and `finalize()` to serialise; `dispose()` wipes every key it holds.
 */
export class UnlockedVault {
  #doc: VaultDoc;
  #master: SecureKey;
  #projectKeys = new Map<string, SecureKey>();
  /** How many earlier versions a write keeps per key (config `history`; 0 keeps none and makes `rm` final). */
  historyLimit = DEFAULT_HISTORY;
  /** How many times each cached project key was used (for the agent's idle eviction). */
  #keyUses = new Map<string, number>();

  private constructor(doc: VaultDoc, master: SecureKey) {
    this.#doc = doc;
    this.#master = master;
  }

  /** Creates a fresh vault document with a random master key and a "default" project. */
  static create(passphrase: Buffer, kdf: KdfChoice = KDF_DEFAULT): UnlockedVault {
    const vid = randomBytes(16).toString('hex');
    const master = SecureKey.random();
    const t = now();
    const doc: VaultDoc = {
      format: FORMAT,
      version: VERSION,
      vault_id: vid,
      created_at: t,
      updated_at: t,
      keyslots: [makeKeyslot(vid, master, passphrase, kdf)],
      master_check: enc(mac(master, AD.masterCheck(vid))),
      projects: nameTable(),
      mac: '',
    };
    const v = new UnlockedVault(doc, master);
    v.createProject('default');
    return v;
  }

  /**
   * Opens a document with a passphrase. WRONG_PASSPHRASE when the key check fails;
   * INTEGRITY when the slot is damaged or the file MAC does not verify.
   */
  static unlock(doc: VaultDoc, passphrase: Buffer): UnlockedVault {
    const slot = doc.keyslots.find((s) => s.id === 'passphrase');
    if (!slot) throw integrity('the vault has no passphrase keyslot');
    const { sum, ...rest } = slot;
    if (!eq(dec(sum), dec(slotSum(doc.vault_id, rest)))) throw integrity('the passphrase keyslot is damaged');
    checkKdfParams(slot.kdf);
    const kek = deriveKey(passphrase, { alg: 'argon2id13', opslimit: slot.kdf.opslimit, memlimit: slot.kdf.memlimit, salt: dec(slot.kdf.salt) });
    try {
      if (!eq(mac(kek, AD.kekCheck(doc.vault_id)), dec(slot.check))) {
        throw new SesameError('WRONG_PASSPHRASE', 'wrong passphrase: it does not open this vault', { hint: 'check the passphrase source (env, file, keyring) or type it again' });
      }
      const master = openKey(kek, dec(slot.nonce), dec(slot.wrapped), AD.keyslot(doc.vault_id, slot.id));
      if (!master) throw integrity('the master key does not unwrap');
      return UnlockedVault.withMaster(doc, master, { fromThisFile: true });
    } finally {
      kek.dispose();
    }
  }

  /**
   * Opens a document with an already-unwrapped master key (the agent; a writer re-reading
   * under the lock). Takes ownership of `master`. KEY_CHANGED when the file now belongs to
   * another master key; INTEGRITY when its MAC fails.
   */
  static withMaster(doc: VaultDoc, master: SecureKey, opts: { fromThisFile?: boolean } = {}): UnlockedVault {
    try {
      if (!eq(mac(master, AD.masterCheck(doc.vault_id)), dec(doc.master_check))) {
        // A key unwrapped from this very file cannot belong to another vault: damage.
        if (opts.fromThisFile) throw integrity('the master key check does not match');
        throw new SesameError('KEY_CHANGED', 'the vault key changed (the vault was re-initialised)', { hint: 'restart the agent, or unlock again' });
      }
      const body = doc[BODY];
      if (!body) throw new SesameError('ERROR', 'internal: a vault document must come from parseVault to be verified');
      // master_check matched above, so a body verified before was verified with this key.
      if (!body.verified) {
        if (!eq(UnlockedVault.#fileMac(doc.vault_id, body.bytes, master), dec(body.mac))) throw integrity('the vault file MAC does not verify');
        body.verified = true;
      }
    } catch (e) {
      master.dispose();
      throw e;
    }
    return new UnlockedVault(doc, master);
  }

  static #fileMac(vaultId: string, body: Buffer, master: SecureKey): Buffer {
    return mac(master, AD.fileMac(vaultId), body);
  }

  get doc(): VaultDoc {
    return this.#doc;
  }
  get vaultId(): string {
    return this.#doc.vault_id;
  }
  /** Lends the master key (the agent keeps its own copy in guarded memory). */
  get master(): SecureKey {
    return this.#master;
  }

  /** Seals the document for disk: updates the timestamp, returns the bytes (body, MAC tail). */
  finalize(): Buffer[] {
    upgradeDoc(this.#doc); // a version-1 vault is written as version 2 from its first write on
    this.#doc.updated_at = now();
    return serializeVault(this.#doc, (body) => enc(UnlockedVault.#fileMac(this.vaultId, body, this.#master)));
  }

  projectNames(): string[] {
    return Object.keys(this.#doc.projects).sort();
  }

  hasProject(name: string): boolean {
    return Object.hasOwn(this.#doc.projects, name);
  }

  createProject(name: string): void {
    checkProjectName(name);
    if (this.hasProject(name)) throw new SesameError('INVALID', `project ${name} already exists`);
    const pk = SecureKey.random();
    const { nonce, ct } = pk.use((k) => seal(this.#master, k, AD.projectKey(this.vaultId, name)));
    this.#doc.projects[name] = { created_at: now(), nonce: enc(nonce), wrapped: enc(ct), entries: nameTable(), removed: nameTable() };
    this.#projectKeys.set(name, pk);
  }

  /** Deletes a project and its keys; refuses the default and the last project (projects.ts). */
  deleteProject(name: string): void {
    checkProjectDeletable(this.#doc.projects, name);
    Reflect.deleteProperty(this.#doc.projects, name); // a prototype-free name table
    this.#projectKeys.get(name)?.dispose();
    this.#projectKeys.delete(name);
  }

  #project(name: string) {
    const p = Object.hasOwn(this.#doc.projects, name) ? this.#doc.projects[name] : undefined;
    if (!p) throw projectNotFound(name);
    return p;
  }

  #projectKey(name: string): SecureKey {
    this.#keyUses.set(name, (this.#keyUses.get(name) ?? 0) + 1);
    let k = this.#projectKeys.get(name);
    if (k) return k;
    const p = this.#project(name);
    const opened = openKey(this.#master, dec(p.nonce), dec(p.wrapped), AD.projectKey(this.vaultId, name));
    if (!opened) throw integrity(`the key of project ${name} does not unwrap`);
    k = opened;
    this.#projectKeys.set(name, k);
    return k;
  }

  list(project: string): EntryInfo[] {
    const p = this.#project(project);
    return Object.keys(p.entries)
      .sort()
      .map((key) => entryInfo(key, p.entries[key]!));
  }

  has(project: string, key: string): boolean {
    return Object.hasOwn(this.#project(project).entries, key);
  }

  entry(project: string, key: string): EntryInfo | undefined {
    const e = Object.hasOwn(this.#project(project).entries, key) ? this.#project(project).entries[key] : undefined;
    return e ? entryInfo(key, e) : undefined;
  }

  /**
   * The names a selection covers, WITHOUT decrypting anything: with `only`, its names in
   * request order (duplicates once), split into `present` and `missing`; without `only`, every
   * key of the project in byte order (`missing` is then empty). `prefix` filters both lists.
   * NOT_FOUND (`projectNotFound`) when the project does not exist.
   */
  select(project: string, sel: Selection): { present: string[]; missing: string[] } {
    const p = this.#project(project);
    const names = sel.only ? [...new Set(sel.only)] : Object.keys(p.entries).sort();
    const present: string[] = [];
    const missing: string[] = [];
    for (const n of names) {
      if (sel.prefix !== undefined && !n.startsWith(sel.prefix)) continue;
      (Object.hasOwn(p.entries, n) ? present : missing).push(n);
    }
    return { present, missing };
  }

  /**
   * @internal THE decrypting method. Only the plaintext door (src/core/access.ts) may call it,
   * after it has authorized the names; test/unit/access-layer.test.ts fails if any other
   * module of src/ names `DECRYPT`. Decrypts exactly `names` (duplicates once), in order;
   * a name with no entry (e.g. removed since it was selected) is reported in `missing` and
   * decrypts nothing. Values are Buffers off V8's movable heap (sodium.ts `open`) that the
   * caller wipes; when one entry fails (INTEGRITY) every value already decrypted is wiped
   * before the error is thrown. NOT_FOUND when the project does not exist.
   */
  [DECRYPT](project: string, names: readonly string[], version?: number): { secrets: Array<[string, Buffer]>; missing: string[] } {
    const p = this.#project(project);
    const secrets: Array<[string, Buffer]> = [];
    const missing: string[] = [];
    try {
      for (const n of new Set(names)) {
        const e = Object.hasOwn(p.entries, n) ? p.entries[n] : undefined;
        if (!e) {
          missing.push(n);
          continue;
        }
        if (version !== undefined && version !== e.version) {
          const h = (e.history ?? []).find((r) => r.version === version);
          if (!h) throw versionNotFound(project, n, version);
          secrets.push([n, this.#unseal(project, n, h, h.version)]);
          continue;
        }
        secrets.push([n, this.#unseal(project, n, e)]);
      }
    } catch (e) {
      for (const [, v] of secrets) wipe(v);
      throw e;
    }
    return { secrets, missing };
  }

  /**
   * Stores `value` as the new current version of `key`. The previous value (of the live key,
   * or of a removed one of that name) is re-sealed into the history, which keeps the newest
   * `historyLimit` versions. Returns whether the key was added or updated.
   */
  set(project: string, key: string, value: Buffer, opts: { highValue?: boolean } = {}): 'added' | 'updated' {
    checkKeyName(key);
    const p = this.#project(project);
    upgradeDoc(this.#doc);
    const t = now();
    const prev = Object.hasOwn(p.entries, key) ? p.entries[key] : undefined;
    const gone = !prev && p.removed && Object.hasOwn(p.removed, key) ? p.removed[key] : undefined;
    const before = prev ?? gone;
    let history: HistoryRecord[] = [];
    if (before && this.historyLimit > 0) history = this.#trim([...(before.history ?? []), this.#toHistory(project, key, before)]);
    const { nonce, ct } = seal(this.#projectKey(project), value, AD.entry(this.vaultId, project, key));
    if (gone) Reflect.deleteProperty(p.removed!, key);
    p.entries[key] = {
      nonce: enc(nonce),
      ct: enc(ct),
      created_at: before?.created_at ?? t,
      updated_at: t,
      version: (before?.version ?? 0) + 1,
      high_value: opts.highValue ?? before?.high_value ?? false,
      history,
    };
    return prev ? 'updated' : 'added';
  }

  /**
   * Removes `key`. With a history limit above 0 it stays recoverable (`restore`) with its
   * history until `purge`; with 0 it is gone ('deleted'). NOT_FOUND when it does not exist.
   */
  rm(project: string, key: string): 'removed' | 'deleted' {
    const p = this.#project(project);
    if (!Object.hasOwn(p.entries, key)) throw new SesameError('NOT_FOUND', `no key ${key} in project ${project}`, { detail: { key, project } });
    upgradeDoc(this.#doc);
    const e = p.entries[key]!;
    Reflect.deleteProperty(p.entries, key); // a prototype-free name table
    if (this.historyLimit === 0) return 'deleted';
    p.removed![key] = { ...e, history: this.#trim(e.history ?? []), removed_at: now() };
    return 'removed';
  }

  /** Brings a removed key back as it was (same version and history). NOT_FOUND when no removed key has that name. */
  restore(project: string, key: string): EntryInfo {
    const p = this.#project(project);
    upgradeDoc(this.#doc);
    const r = Object.hasOwn(p.removed!, key) ? p.removed![key] : undefined;
    if (!r) throw removedNotFound(project, key);
    const { removed_at: _r, ...e } = r;
    Reflect.deleteProperty(p.removed!, key);
    p.entries[key] = e;
    return entryInfo(key, e);
  }

  /** Erases a removed key and its history for good. NOT_FOUND when no removed key has that name; USAGE for a live key. */
  purge(project: string, key: string): void {
    const p = this.#project(project);
    upgradeDoc(this.#doc);
    if (Object.hasOwn(p.entries, key)) {
      throw new SesameError('USAGE', `${key} in project ${project} is not removed; purge erases only removed keys`, { remedy: 'rm_then_purge', detail: { key, project } });
    }
    if (!Object.hasOwn(p.removed!, key)) throw removedNotFound(project, key);
    Reflect.deleteProperty(p.removed!, key);
  }

  /**
   * Makes version `to` (default: the newest in the history) the current value again, as a
   * new version: the value it replaces joins the history. NOT_FOUND when the key or that
   * version does not exist. Returns the new version number.
   */
  rollback(project: string, key: string, to?: number): { from: number; version: number } {
    const p = this.#project(project);
    const e = Object.hasOwn(p.entries, key) ? p.entries[key] : undefined;
    if (!e) throw keyNotFound(project, key);
    const hist = e.history ?? [];
    const h = to === undefined ? hist[hist.length - 1] : hist.find((r) => r.version === to);
    if (!h) {
      if (to === e.version) throw new SesameError('USAGE', `version ${to} is already the current value of ${key}`, { remedy: 'key_history', detail: { key, project } });
      throw to === undefined
        ? new SesameError('NOT_FOUND', `${key} in project ${project} has no earlier version to roll back to`, { remedy: 'key_history', detail: { key, project } })
        : versionNotFound(project, key, to);
    }
    const value = this.#unseal(project, key, h, h.version);
    try {
      this.set(project, key, value);
    } finally {
      wipe(value);
    }
    return { from: h.version, version: p.entries[key]!.version };
  }

  /**
   * Moves (`move`) or copies `key` of `from` to `toKey` of `to`, with its whole history,
   * re-sealed for its new name (the AD binds project and key). A target that exists (live or
   * removed) is refused (INVALID) unless `force`: its versions then join the history of the
   * moved key, by time, renumbered, so nothing is lost beyond the history limit.
   */
  transfer(from: string, key: string, to: string, toKey: string, opts: { move: boolean; force?: boolean }): 'created' | 'replaced' {
    checkKeyName(toKey);
    const src = this.#project(from);
    const dst = this.#project(to);
    upgradeDoc(this.#doc);
    const e = Object.hasOwn(src.entries, key) ? src.entries[key] : undefined;
    if (!e) throw keyNotFound(from, key);
    if (from === to && key === toKey) throw new SesameError('USAGE', `${key} would be ${opts.move ? 'moved' : 'copied'} onto itself`, { hint: 'name another key or project' });
    const live = Object.hasOwn(dst.entries, toKey) ? dst.entries[toKey] : undefined;
    const gone = !live && Object.hasOwn(dst.removed!, toKey) ? dst.removed![toKey] : undefined;
    const target = live ?? gone;
    if (target && !opts.force) {
      throw new SesameError('INVALID', `${toKey} already exists in project ${to}${gone ? ' (removed, recoverable with restore)' : ''}; nothing was changed`, {
        hint: 'pass --force to replace it (its versions are kept in the history), or choose another name',
      });
    }
    let rec: EntryRecord;
    if (!target) rec = this.#reseal(from, key, e, to, toKey);
    else {
      const mine = this.#plains(from, key, e);
      let theirs: Plain[] = [];
      try {
        theirs = this.#plains(to, toKey, target);
        const current = mine[mine.length - 1]!;
        const older = [...theirs, ...mine.slice(0, -1)].sort((a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : a.version - b.version));
        older.forEach((x, i) => (x.version = i + 1));
        current.version = older.length + 1;
        rec = this.#build(to, toKey, [...older, current], e.created_at);
      } finally {
        for (const x of [...mine, ...theirs]) wipe(x.value);
      }
    }
    if (gone) Reflect.deleteProperty(dst.removed!, toKey);
    dst.entries[toKey] = rec;
    if (opts.move) Reflect.deleteProperty(src.entries, key);
    return target ? 'replaced' : 'created';
  }

  /**
   * Renames project `from` to `to`: its key is re-wrapped and every value (live, removed,
   * history) re-sealed for the new name. Refuses the default project (USAGE), a missing one
   * (NOT_FOUND) and an existing target (INVALID).
   */
  renameProject(from: string, to: string): void {
    checkProjectName(to);
    const p = this.#project(from);
    if (from === DEFAULT_PROJECT) {
      throw new SesameError('USAGE', `project ${DEFAULT_PROJECT} cannot be renamed: it is where every command goes without --project`, { remedy: 'project_copy_keys' });
    }
    if (this.hasProject(to)) throw new SesameError('INVALID', `project ${to} already exists; nothing was changed`, { hint: 'choose another name (projects are never merged by a rename)' });
    upgradeDoc(this.#doc);
    const pk = this.#projectKey(from);
    this.#projectKeys.set(to, pk); // the same data key, re-wrapped under the new name below
    const { nonce, ct } = pk.use((k) => seal(this.#master, k, AD.projectKey(this.vaultId, to)));
    const np = { created_at: p.created_at, nonce: enc(nonce), wrapped: enc(ct), entries: nameTable<EntryRecord>(), removed: nameTable<EntryRecord & { removed_at: string }>() };
    for (const k of Object.keys(p.entries)) np.entries[k] = this.#reseal(from, k, p.entries[k]!, to, k);
    for (const k of Object.keys(p.removed!)) np.removed[k] = { ...this.#reseal(from, k, p.removed![k]!, to, k), removed_at: p.removed![k]!.removed_at };
    Reflect.deleteProperty(this.#doc.projects, from);
    this.#projectKeys.delete(from);
    this.#doc.projects[to] = np;
  }

  /** Keeps the newest `historyLimit` records. */
  #trim(h: HistoryRecord[]): HistoryRecord[] {
    return this.historyLimit <= 0 ? [] : h.slice(-this.historyLimit);
  }

  /**
   * The one place a value is opened (libsodium `open`): the current value (`version`
   * undefined, entry AD) or a history record (history AD, bound to its version). Called only
   * by [DECRYPT] — whose callers are the plaintext door — and by the writes that re-seal a
   * value inside this class without returning it (#toHistory, #plains, rollback);
   * test/unit/access-layer.test.ts holds that list. INTEGRITY when it does not decrypt.
   */
  #unseal(project: string, key: string, rec: { nonce: string; ct: string }, version?: number): Buffer {
    const ad = version === undefined ? AD.entry(this.vaultId, project, key) : AD.history(this.vaultId, project, key, version);
    const v = open(this.#projectKey(project), dec(rec.nonce), dec(rec.ct), ad);
    if (!v) throw integrity(version === undefined ? `the value of ${key} in project ${project} does not decrypt` : `version ${version} of ${key} in project ${project} does not decrypt`);
    return v;
  }

  /** The current value of an entry as a history record (decrypted and re-sealed with the history AD). */
  #toHistory(project: string, key: string, e: EntryRecord): HistoryRecord {
    const v = this.#unseal(project, key, e);
    try {
      const s = seal(this.#projectKey(project), v, AD.history(this.vaultId, project, key, e.version));
      return { nonce: enc(s.nonce), ct: enc(s.ct), version: e.version, updated_at: e.updated_at, high_value: e.high_value };
    } finally {
      wipe(v);
    }
  }

  /** Every value of an entry, oldest first, the current one last (plaintext; the caller wipes). */
  #plains(project: string, key: string, e: EntryRecord): Plain[] {
    const out: Plain[] = [];
    try {
      for (const h of e.history ?? []) out.push({ value: this.#unseal(project, key, h, h.version), version: h.version, updated_at: h.updated_at, high_value: h.high_value });
      out.push({ value: this.#unseal(project, key, e), version: e.version, updated_at: e.updated_at, high_value: e.high_value });
    } catch (err) {
      for (const x of out) wipe(x.value);
      throw err;
    }
    return out;
  }

  /** Seals values (oldest first, current last) as the entry `key` of `project`, trimming the history. */
  #build(project: string, key: string, vals: Plain[], createdAt: string): EntryRecord {
    const pk = this.#projectKey(project);
    const cur = vals[vals.length - 1]!;
    const history = this.#trim(
      vals.slice(0, -1).map((x) => {
        const s = seal(pk, x.value, AD.history(this.vaultId, project, key, x.version));
        return { nonce: enc(s.nonce), ct: enc(s.ct), version: x.version, updated_at: x.updated_at, high_value: x.high_value };
      }),
    );
    const s = seal(pk, cur.value, AD.entry(this.vaultId, project, key));
    return { nonce: enc(s.nonce), ct: enc(s.ct), created_at: createdAt, updated_at: cur.updated_at, version: cur.version, high_value: cur.high_value, history };
  }

  /** An entry re-sealed for another project and/or name, versions and times unchanged. */
  #reseal(from: string, key: string, e: EntryRecord, to: string, toKey: string): EntryRecord {
    const vals = this.#plains(from, key, e);
    try {
      return this.#build(to, toKey, vals, e.created_at);
    } finally {
      for (const x of vals) wipe(x.value);
    }
  }

  /** Re-wraps the master key under a new passphrase. No value is re-encrypted. */
  changePassphrase(passphrase: Buffer, kdf?: KdfChoice): void {
    const old = this.#doc.keyslots.find((s) => s.id === 'passphrase');
    const choice = kdf ?? (old ? { opslimit: old.kdf.opslimit, memlimit: old.kdf.memlimit } : KDF_DEFAULT);
    const slot = makeKeyslot(this.vaultId, this.#master, passphrase, choice);
    this.#doc.keyslots = [slot, ...this.#doc.keyslots.filter((s) => s.id !== 'passphrase')];
  }

  /**
   * The project keys unwrapped and held now, each with its use count (a counter that grows at
   * every use: a changed count means "used since you last looked"). Names only.
   */
  cachedProjectKeys(): Map<string, number> {
    const out = new Map<string, number>();
    for (const name of this.#projectKeys.keys()) out.set(name, this.#keyUses.get(name) ?? 0);
    return out;
  }

  /**
   * Wipes and forgets the unwrapped key of project `name` (it is unwrapped again from the
   * master key at its next use). Returns true if it was held. The master key stays.
   */
  evictProjectKey(name: string): boolean {
    const k = this.#projectKeys.get(name);
    if (!k) return false;
    k.dispose();
    this.#projectKeys.delete(name);
    this.#keyUses.delete(name);
    return true;
  }

  /** Wipes every key this object holds. */
  dispose(): void {
    for (const k of this.#projectKeys.values()) k.dispose();
    this.#projectKeys.clear();
    this.#master.dispose();
  }
}

/** The error for a version a key's history does not hold. */
export function versionNotFound(project: string, key: string, version: number): SesameError {
  return new SesameError('NOT_FOUND', `${key} in project ${project} has no version ${version}`, { remedy: 'key_history', detail: { key, project } });
}

/** The error for a name with no removed key behind it (restore, purge). */
export function removedNotFound(project: string, key: string): SesameError {
  return new SesameError('NOT_FOUND', `no removed key ${key} in project ${project}`, { remedy: 'key_history', detail: { key, project } });
}

function entryInfo(key: string, e: EntryRecord): EntryInfo {
  return { key, created_at: e.created_at, updated_at: e.updated_at, version: e.version, high_value: e.high_value };
}

export { wipe };
