/**
 * The one libsodium door. Nothing else in sesame imports sodium-native.
 *
 * - Argon2id key derivation (crypto_pwhash) with parameter bounds, so a hostile vault file
 *   cannot make us allocate gigabytes (DoS) or derive with trivially weak parameters.
 * - XChaCha20-Poly1305 (IETF) with a fresh 24-byte random nonce and associated data.
 * - Keyed BLAKE2b for MACs and key checks.
 * - SecureKey: a 32-byte key in sodium_malloc'd guarded memory (guard pages, mlock'd,
 *   canary), kept PROT_NONE except inside `use()` — or, inside a key window (the agent's
 *   burst of requests, `openKeyWindow`), from its first use until the window closes at the
 *   end of the current event-loop turn; `dispose()` wipes and frees it.
 *
 * Buffers returned by `open()` live outside V8's movable heap (an ArrayBuffer's off-heap
 * store; a Buffer of up to 64 bytes from Buffer.alloc/allocUnsafeSlow would sit on the V8
 * heap, where the GC copies it), so wiping one wipes the only copy. Callers must wipe them
 * with `wipe()` once written out.
 */
import { createRequire } from 'node:module';
import { allocSecret } from '../bytes.js';
import { SesameError } from '../errors.js';

type Sodium = typeof import('sodium-native');
const require = createRequire(import.meta.url);
let lib: Sodium | undefined;
function sodium(): Sodium {
  if (!lib) lib = require('sodium-native') as Sodium;
  return lib;
}

/** Bytes in every symmetric key: the KEK, the master key, project keys (XChaCha20-Poly1305). */
export const KEY_BYTES = 32;
/** Bytes in an XChaCha20-Poly1305 nonce; every seal draws a fresh random one. */
export const NONCE_BYTES = 24;
/** Bytes in the Poly1305 tag that ends every ciphertext. */
export const TAG_BYTES = 16;
/** Bytes in an Argon2id salt (libsodium's crypto_pwhash_SALTBYTES). */
export const SALT_BYTES = 16;

export interface KdfParams {
  alg: 'argon2id13';
  /** Passes (libsodium opslimit). */
  opslimit: number;
  /** Memory in bytes (libsodium memlimit). */
  memlimit: number;
  salt: Buffer;
}

/** The Argon2id parameters a new vault gets unless init is told otherwise: 3 passes, 64 MiB. */
export const KDF_DEFAULT = { opslimit: 3, memlimit: 64 * 1024 * 1024 } as const;
/**
 * The Argon2id parameters a vault may carry; checkKdfParams refuses anything outside (INTEGRITY), so a hostile
 * file cannot make an unlock allocate gigabytes or run for hours.
 */
export const KDF_BOUNDS = {
  minMemlimit: 8 * 1024 * 1024,
  maxMemlimit: 1024 * 1024 * 1024,
  minOpslimit: 1,
  maxOpslimit: 16,
} as const;

/** Throws INTEGRITY when parameters are outside the bounds a vault may carry. */
export function checkKdfParams(p: { opslimit: number; memlimit: number }, origin = 'the vault file'): void {
  const { minMemlimit, maxMemlimit, minOpslimit, maxOpslimit } = KDF_BOUNDS;
  if (!Number.isSafeInteger(p.memlimit) || p.memlimit < minMemlimit || p.memlimit > maxMemlimit) {
    throw new SesameError('INTEGRITY', `refusing Argon2id memory of ${String(p.memlimit)} bytes from ${origin}: allowed ${minMemlimit / 1048576} MiB to ${maxMemlimit / 1048576} MiB`, {
      hint: 'the file may be hostile or damaged; restore it from a backup',
    });
  }
  if (!Number.isSafeInteger(p.opslimit) || p.opslimit < minOpslimit || p.opslimit > maxOpslimit) {
    throw new SesameError('INTEGRITY', `refusing Argon2id pass count ${String(p.opslimit)} from ${origin}: allowed ${minOpslimit} to ${maxOpslimit}`, {
      hint: 'the file may be hostile or damaged; restore it from a backup',
    });
  }
}

/** Derives a 32-byte key from a passphrase into guarded memory. */
export function deriveKey(passphrase: Buffer, p: KdfParams): SecureKey {
  checkKdfParams(p);
  const s = sodium();
  const key = SecureKey.alloc();
  key.write((buf) => {
    s.crypto_pwhash(buf, passphrase, p.salt, p.opslimit, p.memlimit, s.crypto_pwhash_ALG_ARGON2ID13);
  });
  return key;
}

/**
 * `n` bytes from libsodium's CSPRNG in an ordinary Buffer: for public randomness (salts, nonces, ids), never for a key
 * (keys are made in guarded memory: SecureKey). Never throws.
 */
export function randomBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  sodium().randombytes_buf(b);
  return b;
}

/** Encrypts `plain` under `key` with a fresh random nonce. Returns nonce and ciphertext. */
export function seal(key: SecureKey, plain: Buffer, ad: Buffer): { nonce: Buffer; ct: Buffer } {
  const s = sodium();
  const nonce = randomBytes(NONCE_BYTES);
  const ct = Buffer.alloc(plain.length + TAG_BYTES);
  key.use((k) => s.crypto_aead_xchacha20poly1305_ietf_encrypt(ct, plain, ad, null, nonce, k));
  return { nonce, ct };
}

/**
 * Decrypts into a new Buffer whose storage the GC never moves (see the header); returns
 * null when authentication fails (wrong key, moved or damaged data). The caller wipes it.
 */
export function open(key: SecureKey, nonce: Buffer, ct: Buffer, ad: Buffer): Buffer | null {
  const s = sodium();
  if (nonce.length !== NONCE_BYTES || ct.length < TAG_BYTES) return null;
  const out = allocSecret(ct.length - TAG_BYTES);
  try {
    key.use((k) => s.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, ct, ad, nonce, k));
    return out;
  } catch {
    return null;
  }
}

/** Decrypts into a new SecureKey (for wrapped keys); null when authentication fails. */
export function openKey(key: SecureKey, nonce: Buffer, ct: Buffer, ad: Buffer): SecureKey | null {
  const s = sodium();
  if (nonce.length !== NONCE_BYTES || ct.length !== KEY_BYTES + TAG_BYTES) return null;
  const out = SecureKey.alloc();
  try {
    key.use((k) => out.write((o) => s.crypto_aead_xchacha20poly1305_ietf_decrypt(o, null, ct, ad, nonce, k)));
    return out;
  } catch {
    out.dispose();
    return null;
  }
}

/** Keyed BLAKE2b-256 of the concatenation of `parts` (a MAC or a key check). */
export function mac(key: SecureKey, ...parts: Buffer[]): Buffer {
  const out = Buffer.alloc(32);
  key.use((k) => {
    if (parts.length === 1) sodium().crypto_generichash(out, parts[0]!, k);
    else sodium().crypto_generichash_batch(out, parts, k);
  });
  return out;
}

/**
 * Derives an independent 32-byte subkey of `master` for one purpose: keyed BLAKE2b-256
 * (a PRF) of "sesame/v1/subkey\0" + `context`, written straight into guarded memory. Each
 * purpose uses its own context (e.g. "sesame/v1/audit-hmac"), so a subkey is never reused
 * and the prefix keeps it apart from every other MAC sesame makes under the master key.
 * The caller disposes the result.
 */
export function deriveSubkey(master: SecureKey, context: string): SecureKey {
  if (!/^[a-z0-9/_.-]{1,64}$/.test(context)) throw new SesameError('ERROR', 'internal: a subkey context is 1-64 characters of [a-z0-9/_.-]');
  const msg = Buffer.from(`sesame/v1/subkey\0${context}`, 'latin1');
  const out = SecureKey.alloc();
  master.use((k) => {
    out.write((o) => {
      sodium().crypto_generichash(o, msg, k);
    });
  });
  return out;
}

/** Unkeyed BLAKE2b-256 (a checksum against accidental damage; not a MAC). */
export function checksum(msg: Buffer): Buffer {
  const out = Buffer.alloc(32);
  sodium().crypto_generichash(out, msg);
  return out;
}

/** Constant-time equality of two byte strings (false for null or different lengths). */
export function equalBytes(a: Buffer | null | undefined, b: Buffer): boolean {
  return !!a && a.length === b.length && sodium().sodium_memcmp(a, b);
}

/** Overwrites a buffer with zeros (sodium_memzero: not optimised away). */
export function wipe(b: Buffer | Uint8Array | undefined | null): void {
  if (b && b.length) sodium().sodium_memzero(b);
}

/**
 * Opens a key window, if none is open: until it closes, a key that `use()` makes readable
 * stays readable (no `mprotect` per use) and every such key is made no-access again when the
 * window closes. It closes by itself at `setImmediate`, i.e. in the check phase of the
 * current event-loop turn — after this turn's I/O callbacks and microtasks, and before the
 * loop can block waiting for more I/O — or earlier with `closeKeyWindow()`. So a key opened
 * in a window is readable only while the process is running the turn that used it, never
 * while it waits. Meant for the agent (a burst of requests served in one turn pays two
 * `mprotect` calls per key, not two per request); code that never opens a window keeps the
 * per-`use()` protection. Idempotent.
 */
export function openKeyWindow(): void {
  SecureKey.openWindow();
}

/** Closes the key window now: every key it left readable is no-access again. Idempotent. */
export function closeKeyWindow(): void {
  SecureKey.closeWindow();
}

/** True while a key window is open (for tests and assertions). */
export function keyWindowOpen(): boolean {
  return SecureKey.windowOpen;
}

/**
 * A 32-byte key in libsodium guarded memory. PROT_NONE between uses; `use()` makes it
 * readable for the duration of a synchronous callback (inside a key window: until the
 * window closes, see `openKeyWindow`). Never convert it to a string.
 */
export class SecureKey {
  static #window = false;
  /** Keys left readable by `use()` in the open window. */
  static readonly #open = new Set<SecureKey>();
  #buf: Buffer | null;
  /** Readable (PROT_READ) until the window closes; only ever true while #window is. */
  #held = false;
  private constructor(buf: Buffer) {
    this.#buf = buf;
  }

  /** See `openKeyWindow()`. */
  static openWindow(): void {
    if (SecureKey.#window) return;
    SecureKey.#window = true;
    setImmediate(() => {
      SecureKey.closeWindow();
    });
  }

  /** See `closeKeyWindow()`. */
  static closeWindow(): void {
    SecureKey.#window = false;
    for (const k of SecureKey.#open) k.#release();
    SecureKey.#open.clear();
  }

  static get windowOpen(): boolean {
    return SecureKey.#window;
  }

  static alloc(): SecureKey {
    const s = sodium();
    const b = s.sodium_malloc(KEY_BYTES) as Buffer;
    s.sodium_memzero(b);
    s.sodium_mprotect_noaccess(b);
    return new SecureKey(b);
  }

  /** Generates a fresh random key. */
  static random(): SecureKey {
    const k = SecureKey.alloc();
    k.write((b) => {
      sodium().randombytes_buf(b);
    });
    return k;
  }

  /** Copies key bytes in (the caller wipes its source). */
  static from(bytes: Buffer): SecureKey {
    if (bytes.length !== KEY_BYTES) throw new SesameError('INVALID', `a key must be ${KEY_BYTES} bytes`);
    const k = SecureKey.alloc();
    k.write((b) => bytes.copy(b));
    return k;
  }

  /** A copy in its own guarded memory (the caller disposes it). */
  clone(): SecureKey {
    return this.use((b) => SecureKey.from(b));
  }

  get disposed(): boolean {
    return this.#buf === null;
  }

  /** Runs `fn` with the key readable; inside a key window the key stays readable until the window closes. */
  use<T>(fn: (key: Buffer) => T): T {
    const b = this.#live();
    if (this.#held) return fn(b);
    const s = sodium();
    s.sodium_mprotect_readonly(b);
    if (SecureKey.#window) {
      this.#held = true;
      SecureKey.#open.add(this);
      return fn(b);
    }
    try {
      return fn(b);
    } finally {
      s.sodium_mprotect_noaccess(b);
    }
  }

  /** Runs `fn` with the key writable; afterwards it is as before (no-access, or readable in a window). */
  write<T>(fn: (key: Buffer) => T): T {
    const b = this.#live();
    const s = sodium();
    s.sodium_mprotect_readwrite(b);
    try {
      return fn(b);
    } finally {
      if (this.#held) s.sodium_mprotect_readonly(b);
      else s.sodium_mprotect_noaccess(b);
    }
  }

  /** True while the key's memory is readable outside a `use()` callback (held by a key window). */
  get readable(): boolean {
    return this.#held;
  }

  /** Wipes and frees the key. Idempotent. */
  dispose(): void {
    const b = this.#buf;
    if (!b) return;
    this.#buf = null;
    this.#held = false;
    SecureKey.#open.delete(this);
    const s = sodium();
    s.sodium_mprotect_readwrite(b);
    s.sodium_memzero(b);
    s.sodium_free(b);
  }

  /** Makes a key held by the closing window no-access again. */
  #release(): void {
    if (!this.#held) return;
    this.#held = false;
    if (this.#buf) sodium().sodium_mprotect_noaccess(this.#buf);
  }

  #live(): Buffer {
    if (!this.#buf) throw new SesameError('ERROR', 'internal: use of a wiped key');
    return this.#buf;
  }
}

/** Argon2id cost of an approval PIN's hash (libsodium's interactive limits: 2 passes, 64 MiB). */
const PIN_OPSLIMIT = 2;
const PIN_MEMLIMIT = 64 * 1024 * 1024;

/**
 * An Argon2id hash of an approval PIN in libsodium's self-describing string form
 * (`$argon2id$v=19$m=…,t=…,p=1$salt$hash`, crypto_pwhash_str). Not secret; the caller wipes `pin`.
 */
export function hashPin(pin: Buffer): string {
  const out = Buffer.alloc(sodium().crypto_pwhash_STRBYTES);
  sodium().crypto_pwhash_str(out, pin, PIN_OPSLIMIT, PIN_MEMLIMIT);
  const end = out.indexOf(0);
  return out.subarray(0, end < 0 ? out.length : end).toString('latin1');
}

/**
 * True when `pin` matches `hash` (from `hashPin`); false for a wrong PIN or a malformed or
 * over-costly hash (its Argon2id limits must be within KDF_BOUNDS). Never throws.
 */
export function verifyPin(hash: string, pin: Buffer): boolean {
  const m = /^\$argon2id\$v=19\$m=(\d{1,10}),t=(\d{1,3}),p=1\$[A-Za-z0-9+/]{1,64}\$[A-Za-z0-9+/]{1,128}$/.exec(hash);
  if (!m) return false;
  const memKiB = Number(m[1]);
  const passes = Number(m[2]);
  if (memKiB * 1024 > KDF_BOUNDS.maxMemlimit || passes > KDF_BOUNDS.maxOpslimit) return false;
  const str = Buffer.alloc(sodium().crypto_pwhash_STRBYTES);
  str.write(hash, 'latin1');
  try {
    return sodium().crypto_pwhash_str_verify(str, pin);
  } catch {
    return false;
  }
}
