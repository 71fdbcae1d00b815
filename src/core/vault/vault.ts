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
import { BODY, FORMAT, VERSION, canonicalJson, nameTable, serializeVault, type EntryRecord, type Keyslot, type VaultDoc } from './format.js';

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
};

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
    this.#doc.projects[name] = { created_at: now(), nonce: enc(nonce), wrapped: enc(ct), entries: nameTable() };
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
  [DECRYPT](project: string, names: readonly string[]): { secrets: Array<[string, Buffer]>; missing: string[] } {
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
        const v = open(this.#projectKey(project), dec(e.nonce), dec(e.ct), AD.entry(this.vaultId, project, n));
        if (!v) throw integrity(`the value of ${n} in project ${project} does not decrypt`);
        secrets.push([n, v]);
      }
    } catch (e) {
      for (const [, v] of secrets) wipe(v);
      throw e;
    }
    return { secrets, missing };
  }

  set(project: string, key: string, value: Buffer, opts: { highValue?: boolean } = {}): 'added' | 'updated' {
    checkKeyName(key);
    const p = this.#project(project);
    const { nonce, ct } = seal(this.#projectKey(project), value, AD.entry(this.vaultId, project, key));
    const t = now();
    const prev = Object.hasOwn(p.entries, key) ? p.entries[key] : undefined;
    p.entries[key] = {
      nonce: enc(nonce),
      ct: enc(ct),
      created_at: prev?.created_at ?? t,
      updated_at: t,
      version: (prev?.version ?? 0) + 1,
      high_value: opts.highValue ?? prev?.high_value ?? false,
    };
    return prev ? 'updated' : 'added';
  }

  rm(project: string, key: string): void {
    const p = this.#project(project);
    if (!Object.hasOwn(p.entries, key)) throw new SesameError('NOT_FOUND', `no key ${key} in project ${project}`, { detail: { key, project } });
    Reflect.deleteProperty(p.entries, key); // a prototype-free name table
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

function entryInfo(key: string, e: EntryRecord): EntryInfo {
  return { key, created_at: e.created_at, updated_at: e.updated_at, version: e.version, high_value: e.high_value };
}

export { wipe };
