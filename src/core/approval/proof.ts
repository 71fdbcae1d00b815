/**
 * What makes an approval unforgeable by a same-uid process (docs/approvals.md): the agent
 * accepts a decision only with a proof it verifies itself —
 *  - passphrase: the approving CLI reads the vault passphrase from /dev/tty (never stdin,
 *    argv or the environment), unlocks the vault locally, derives the approval subkey of the
 *    master key (context `approval-proof`) and answers the agent's one-time challenge with a
 *    MAC over the challenge and the exact decision (`proofMessage`). The agent derives the same
 *    subkey from the key it holds; without the passphrase there is no master key, so no proof.
 *  - PIN: `approve pin set` stores an Argon2id hash of a PIN (sodium.ts `hashPin`) in
 *    `approval-pin.json` (0600), sealed with a MAC under another subkey (context
 *    `approval-pin-file`): a same-uid process that overwrites the file with a hash of its own
 *    PIN cannot make the MAC, so the agent ignores its file. The PIN travels to the agent on
 *    the owner socket and is checked there (`verifyPin`); wrong PINs are counted (`PinGate`).
 *
 * Nothing here logs or returns a secret; the PIN and passphrase Buffers are the caller's to wipe.
 */
import * as path from 'node:path';
import { SesameError } from '../errors.js';
import { deriveSubkey, equalBytes, hashPin, mac, randomBytes, verifyPin, type SecureKey } from '../crypto/sodium.js';
import { readPrivateFileStat, removeFile, writeFileAtomic } from '../fs/secure.js';

/** The subkey context of approval proofs. */
export const PROOF_CONTEXT = 'approval-proof';
/** The subkey context of the PIN file's MAC. */
export const PIN_FILE_CONTEXT = 'approval-pin-file';
/** The PIN file's name in the home. */
export const PIN_FILE = 'approval-pin.json';
/** A challenge is good for this long, once (ms). */
export const CHALLENGE_MS = 120_000;
/** Wrong PINs in a row after which PIN approvals are refused until the agent restarts. */
export const MAX_PIN_FAILURES = 5;

/** A decision as the proof covers it. */
export interface ProvenDecision {
  readonly approvalId: string;
  readonly mode: 'once' | 'for' | 'session';
  /** Seconds, for `for`. */
  readonly forS?: number;
}

/** The bytes a proof MACs: a fixed label, the challenge, the request id and the exact decision. */
export function proofMessage(nonceHex: string, d: ProvenDecision): Buffer {
  return Buffer.from(`sesame/approve/v1\0${nonceHex}\0${d.approvalId}\0${d.mode}\0${d.forS ?? ''}`, 'latin1');
}

/** The proof for `d` under challenge `nonceHex`, from the master key (64 hex). The CLI's side. */
export function makeProof(master: SecureKey, nonceHex: string, d: ProvenDecision): string {
  const k = deriveSubkey(master, PROOF_CONTEXT);
  try {
    return mac(k, proofMessage(nonceHex, d)).toString('hex');
  } finally {
    k.dispose();
  }
}

/** The agent's side: one-time challenges and the verification of proofs and PINs. */
export class ProofVerifier {
  readonly #proofKey: SecureKey;
  readonly #pinKey: SecureKey;
  readonly #home: string;
  readonly #clock: () => number;
  readonly #nonces = new Map<string, number>();
  #pinFailures = 0;

  /** Derives both subkeys from `master` (which the caller still owns). */
  constructor(master: SecureKey, home: string, clock: () => number) {
    this.#proofKey = deriveSubkey(master, PROOF_CONTEXT);
    this.#pinKey = deriveSubkey(master, PIN_FILE_CONTEXT);
    this.#home = home;
    this.#clock = clock;
  }

  /** A fresh challenge (64 hex), good once for CHALLENGE_MS. */
  challenge(): string {
    const now = this.#clock();
    for (const [n, exp] of this.#nonces) if (exp <= now) this.#nonces.delete(n);
    if (this.#nonces.size > 64) this.#nonces.delete(this.#nonces.keys().next().value as string);
    const n = randomBytes(32).toString('hex');
    this.#nonces.set(n, now + CHALLENGE_MS);
    return n;
  }

  /** True when `proof` is the MAC of `d` under a live challenge `nonce`; the challenge is spent either way. */
  checkProof(nonce: string, proof: string, d: ProvenDecision): boolean {
    const exp = this.#nonces.get(nonce);
    this.#nonces.delete(nonce);
    if (exp === undefined || exp <= this.#clock() || !/^[0-9a-f]{64}$/.test(proof)) return false;
    return equalBytes(mac(this.#proofKey, proofMessage(nonce, d)), Buffer.from(proof, 'hex'));
  }

  /**
   * Checks an approval PIN against the sealed PIN file. DENIED `approval_pin_unset` when no
   * valid file (none, or its MAC does not verify: not made with this vault's key),
   * `approval_pin_locked` after MAX_PIN_FAILURES wrong PINs. True/false for right/wrong.
   */
  checkPin(pin: Buffer): boolean {
    if (this.#pinFailures >= MAX_PIN_FAILURES) {
      throw new SesameError('DENIED', `refused: ${MAX_PIN_FAILURES} wrong approval PINs; PIN approvals are off until the agent restarts`, {
        hint: 'approve with the vault passphrase (approve --passphrase)',
        detail: { reason: 'approval_pin_locked' },
      });
    }
    const hash = readSealedPin(this.#home, this.#pinKey);
    if (hash === null) {
      throw new SesameError('DENIED', 'refused: no approval PIN is set for this vault', {
        hint: 'set one (approve pin set), or approve with the passphrase',
        detail: { reason: 'approval_pin_unset' },
      });
    }
    const ok = verifyPin(hash, pin);
    this.#pinFailures = ok ? 0 : this.#pinFailures + 1;
    return ok;
  }

  /** Wrong PINs in a row so far. */
  get pinFailures(): number {
    return this.#pinFailures;
  }

  /** Wipes both subkeys. Idempotent. */
  dispose(): void {
    this.#proofKey.dispose();
    this.#pinKey.dispose();
    this.#nonces.clear();
  }
}

/** Writes the sealed PIN file for `pin` (Argon2id hash + MAC under the master key's PIN-file subkey), 0600, atomically. */
export function writePinFile(home: string, master: SecureKey, pin: Buffer): void {
  const hash = hashPin(pin);
  const k = deriveSubkey(master, PIN_FILE_CONTEXT);
  try {
    const seal = mac(k, Buffer.from(hash, 'latin1')).toString('hex');
    writeFileAtomic(path.join(home, PIN_FILE), `${JSON.stringify({ v: 1, hash, mac: seal })}\n`, 0o600);
  } finally {
    k.dispose();
  }
}

/** Removes the PIN file; false when there was none. */
export function clearPinFile(home: string): boolean {
  return removeFile(path.join(home, PIN_FILE));
}

/** True when a PIN file exists (valid or not: only the agent can tell). */
export function pinFileExists(home: string): boolean {
  try {
    return readPrivateFileStat(path.join(home, PIN_FILE), 'approval PIN file', { maxBytes: 4096 }) !== null;
  } catch {
    return false;
  }
}

/** The hash in the PIN file when its MAC verifies under `pinKey`; null otherwise (absent, damaged, forged). */
function readSealedPin(home: string, pinKey: SecureKey): string | null {
  let doc: unknown;
  try {
    const r = readPrivateFileStat(path.join(home, PIN_FILE), 'approval PIN file', { maxBytes: 4096, forbid: 0o077 });
    if (!r) return null;
    doc = JSON.parse(r.data.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof doc !== 'object' || doc === null) return null;
  const { v, hash, mac: seal } = doc as Record<string, unknown>;
  if (v !== 1 || typeof hash !== 'string' || typeof seal !== 'string' || !/^[0-9a-f]{64}$/.test(seal) || hash.length > 256) return null;
  return equalBytes(mac(pinKey, Buffer.from(hash, 'latin1')), Buffer.from(seal, 'hex')) ? hash : null;
}
