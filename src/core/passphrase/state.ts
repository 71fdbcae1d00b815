/**
 * The chain's small persistent state in `$SESAME_HOME/state.json` (0600, atomic writes),
 * under the "passphrase" key; other keys of the file are preserved untouched:
 *
 *   { "passphrase": { "acknowledged": { "slot": "<16 hex>", "at": "<ISO time>" },
 *                     "sealed_key": "host" | "tpm2" | "auto" } }
 *
 * An acknowledgement ("this passphrase is saved outside this machine") is bound to the
 * vault's current passphrase keyslot by a fingerprint of public slot data, so it lapses by
 * itself when the passphrase changes. Nothing secret is stored here.
 */
import { createHash } from 'node:crypto';
import { SesameError } from '../errors.js';
import type { HomePaths } from '../paths.js';
import { readPrivateFile, writeFileAtomic } from '../fs/secure.js';
import type { VaultDoc } from '../vault/format.js';
import { SEAL_KEYS, type SealKey } from './sealed.js';

interface PassphraseState {
  acknowledged?: { slot: string; at: string };
  sealed_key?: SealKey;
}

function readAll(paths: HomePaths): Record<string, unknown> {
  const b = readPrivateFile(paths.state, 'state file');
  if (!b) return {};
  try {
    const v: unknown = JSON.parse(b.toString('utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* fall through */
  }
  throw new SesameError('INVALID', `state file ${paths.state} is not a JSON object`, { hint: 'remove it; it only records acknowledgements and the sealing key' });
}

function readState(paths: HomePaths): PassphraseState {
  const s = readAll(paths).passphrase;
  return s && typeof s === 'object' ? s : {};
}

function writeState(paths: HomePaths, change: (s: PassphraseState) => void): void {
  const all = readAll(paths);
  const s = readState(paths);
  change(s);
  all.passphrase = s;
  writeFileAtomic(paths.state, `${JSON.stringify(all, null, 2)}\n`);
}

/** A fingerprint of the current passphrase keyslot (public data: salt and key check). */
export function slotFingerprint(doc: VaultDoc): string {
  const slot = doc.keyslots.find((k) => k.id === 'passphrase');
  return createHash('sha256')
    .update(`${doc.vault_id}\0${slot?.kdf.salt ?? ''}\0${slot?.check ?? ''}`)
    .digest('hex')
    .slice(0, 16);
}

/** true when the user acknowledged that the CURRENT passphrase is saved elsewhere. */
export function isAcknowledged(paths: HomePaths, doc: VaultDoc): boolean {
  return readState(paths).acknowledged?.slot === slotFingerprint(doc);
}

/** When the CURRENT passphrase was acknowledged as saved elsewhere (ISO time), or null (never, or for an older passphrase). */
export function acknowledgedAt(paths: HomePaths, doc: VaultDoc): string | null {
  const a = readState(paths).acknowledged;
  return a && a.slot === slotFingerprint(doc) ? a.at : null;
}

/** Records the acknowledgement for the current passphrase. */
export function recordAcknowledgement(paths: HomePaths, doc: VaultDoc, now: Date = new Date()): void {
  writeState(paths, (s) => {
    s.acknowledged = { slot: slotFingerprint(doc), at: now.toISOString() };
  });
}

/** The key the sealed file was made with (for re-sealing after a change); default auto. */
export function sealedKey(paths: HomePaths): SealKey {
  const k = readState(paths).sealed_key;
  return k && SEAL_KEYS.includes(k) ? k : 'auto';
}

/** Records which systemd-creds key the passphrase was sealed with (state.json, atomic, 0600); throws the write's ERROR. */
export function recordSealedKey(paths: HomePaths, key: SealKey): void {
  writeState(paths, (s) => {
    s.sealed_key = key;
  });
}
