/**
 * Checking the audit chain (docs/spec/audit-log.md, "Verification"): every line is a record,
 * seqs run 1, 2, 3… across all files, each `prev` is the SHA-256 of the line before, each
 * keyed record's MAC verifies under the vault's audit subkey. The first failure is named:
 * its file, line, seq and what it looks like (edited, deleted, reordered, inserted,
 * duplicated, bad MAC, unkeyed after keyed, truncated against an anchored head).
 *
 * What the file alone cannot show: a cut-off tail (anchor the head elsewhere and pass it as
 * `expectHead`), and unkeyed records after the last keyed one (anyone who can write the file
 * could have appended them: reported as a warning).
 */
import * as path from 'node:path';
import { SesameError } from '../errors.js';
import { equalBytes } from '../crypto/sodium.js';
import { lastLine, type AuditKey, type Head } from './log.js';
import { readPrivateFileStat } from '../fs/secure.js';
import { KEYED_EVENT_NAMES } from './events.js';
import { GENESIS, lineHash, parseLine, type AuditRecord } from './record.js';

/** Events that can only happen with the vault key (the `keyed: 'always'` rows of events.ts): an unkeyed one after keyed records is a forgery. */
export const KEYED_EVENTS: ReadonlySet<string> = KEYED_EVENT_NAMES;

export type BadKind = 'unreadable' | 'edited' | 'deleted' | 'reordered' | 'inserted' | 'duplicated' | 'bad_mac' | 'unkeyed_after_keyed' | 'foreign_key' | 'truncated' | 'not_genesis';

export interface BadRecord {
  readonly kind: BadKind;
  readonly file: string;
  /** 1-based line in `file`. */
  readonly line: number;
  readonly seq: number | null;
  readonly why: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly records: number;
  readonly files: number;
  readonly head: Head | null;
  /** Keyed records whose MAC was checked (0 without a key). */
  readonly macChecked: number;
  /** Keyed records made under an earlier vault key, covered by a later record keyed under this key. */
  readonly earlierKey: number;
  readonly bad?: BadRecord;
  readonly warnings: readonly string[];
}

interface Line {
  readonly file: string;
  readonly line: number;
  readonly bytes: Buffer;
}

function readLines(files: readonly string[]): { lines: Line[]; torn?: BadRecord } {
  const lines: Line[] = [];
  for (const file of files) {
    const data = readLogFile(file);
    let start = 0;
    let n = 0;
    while (start < data.length) {
      const nl = data.indexOf(0x0a, start);
      n++;
      if (nl < 0) return { lines, torn: { kind: 'unreadable', file, line: n, seq: null, why: 'the last line is incomplete (a torn write)' } };
      lines.push({ file, line: n, bytes: data.subarray(start, nl) });
      start = nl + 1;
    }
  }
  return { lines };
}

/**
 * Reads a log file through the private-file door (fs/secure.ts): not through a symlink, never
 * blocking on a FIFO, a regular file owned by this user with no group/other bits (INSECURE
 * otherwise: someone else could have written it), at most 512 MiB.
 */
function readLogFile(file: string): Buffer {
  const r = readPrivateFileStat(file, 'the audit log file');
  if (!r) throw new SesameError('NOT_FOUND', `the audit log file ${file} disappeared while it was read`, { hint: 'run it again (another writer may have rotated it)' });
  return r.data;
}

/** Parses `SEQ:HASH` (what `audit head` prints). */
export function parseHead(s: string): Head {
  const m = /^(\d{1,15}):([0-9a-f]{64})$/.exec(s.trim());
  if (!m) throw new SesameError('USAGE', 'a head is SEQ:HASH (a sequence number, a colon and 64 hex digits), as `audit head` prints it');
  return { seq: Number(m[1]), hash: m[2]! };
}

/** `SEQ:HASH`, the form `audit head` prints and parseHead reads back. Never throws. */
export function formatHead(h: Head): string {
  return `${h.seq}:${h.hash}`;
}

/** The last record's seq and hash, read from the files alone (no key). Null for an empty log. */
export function chainHead(files: readonly string[]): Head | null {
  for (let i = files.length - 1; i >= 0; i--) {
    const file = files[i]!;
    const last = lastLine(file); // the tail only: a log of many MiB is not read whole
    if (!last) continue;
    const p = parseLine(last);
    if (typeof p === 'string')
      throw new SesameError('INTEGRITY', `the last audit record of ${path.basename(file)} cannot be read: ${p}`, { hint: 'verify the audit log (audit verify) to see which record is damaged' });
    return { seq: p.rec.seq, hash: lineHash(last) };
  }
  return null;
}

/**
 * Walks the whole chain (all files, oldest first). With `key`, every keyed record's MAC is
 * checked, and keyed records of another vault key are accepted only before a record keyed
 * under this key (whose verified chain covers them). Never throws for a damaged log:
 * the damage is the result. Throws only when a file cannot be opened.
 */
export function verifyChain(files: readonly string[], key?: AuditKey, expectHead?: Head): VerifyResult {
  const { lines, torn } = readLines(files);
  const recs: (AuditRecord | null)[] = [];
  const bodies: Buffer[] = [];
  const seqAt = new Map<number, number[]>();
  for (const [i, l] of lines.entries()) {
    const p = parseLine(l.bytes);
    recs.push(typeof p === 'string' ? null : p.rec);
    bodies.push(typeof p === 'string' ? Buffer.alloc(0) : p.body);
    if (typeof p !== 'string') seqAt.set(p.rec.seq, [...(seqAt.get(p.rec.seq) ?? []), i]);
  }
  // The last record keyed under this key: its chain covers every record before it, so keyed
  // records of an earlier vault key (before an `init --force`) may precede it.
  let lastOurs = -1;
  if (key) recs.forEach((r, i) => r && r.kid === key.kid && r.mac !== null && (lastOurs = i));

  const warnings: string[] = [];
  let macChecked = 0;
  let earlierKey = 0;
  let lastKeyed = -1;
  const result = (bad?: BadRecord): VerifyResult => {
    const last = lines[lines.length - 1];
    const lastRec = recs[recs.length - 1];
    const head = last && lastRec ? { seq: lastRec.seq, hash: lineHash(last.bytes) } : null;
    if (!bad && lastKeyed >= 0 && lastKeyed < recs.length - 1)
      warnings.push(`records seq ${recs[lastKeyed + 1]!.seq} to ${lastRec!.seq} come after the last keyed record: anyone who can write the file could have appended them`);
    return { ok: !bad, records: lines.length, files: files.length, head, macChecked, earlierKey, ...(bad ? { bad } : {}), warnings };
  };

  for (const [i, l] of lines.entries()) {
    const at = (kind: BadKind, why: string, seq: number | null = recs[i]?.seq ?? null): VerifyResult => result({ kind, file: l.file, line: l.line, seq, why });
    const r = recs[i];
    if (!r) {
      const p = parseLine(l.bytes);
      return at('unreadable', `not a record: ${typeof p === 'string' ? p : '?'}`, null);
    }
    const prevRec = i > 0 ? recs[i - 1]! : null;
    const expected = prevRec ? prevRec.seq + 1 : 1;
    const prevHash = i > 0 ? lineHash(lines[i - 1]!.bytes) : GENESIS;
    if (i === 0 && (r.seq !== 1 || r.prev !== GENESIS)) {
      return at('not_genesis', `the chain does not start at seq 1 (it starts at seq ${r.seq}): the earlier records or files are missing`);
    }
    if (r.seq !== expected || r.prev !== prevHash) {
      const v = classify(i, r, expected, lines, recs, seqAt);
      return at(v.kind, v.why, v.kind === 'edited' && prevRec ? prevRec.seq : r.seq);
    }
    // The MAC.
    if (r.mac !== null) {
      if (key) {
        if (r.kid === key.kid) {
          if (!equalBytes(key.mac(bodies[i]!), Buffer.from(r.mac, 'hex'))) return at('bad_mac', "its MAC does not verify under this vault's audit key: it was edited (or forged)");
          macChecked++;
        } else if (i < lastOurs) earlierKey++;
        else return at('foreign_key', `it is keyed under another vault key (kid ${r.kid ?? '?'}) and no record keyed under this vault's key follows to cover it`);
      }
      lastKeyed = i;
    } else if (lastKeyed >= 0) {
      const msg = `seq ${r.seq} (${r.event}) is unkeyed but follows keyed records`;
      if (KEYED_EVENTS.has(r.event)) return at('unkeyed_after_keyed', `${msg}, and a ${r.event} always has the vault key: it was written without the key (forged)`);
      warnings.push(`${msg} (a ${r.event} may run without the key)`);
    }
  }
  if (torn) return result(torn);
  if (expectHead) {
    const idx = seqAt.get(expectHead.seq);
    const last = recs[recs.length - 1];
    if (!idx || idx.length === 0) {
      const l = lines[lines.length - 1];
      return result({
        kind: 'truncated',
        file: l?.file ?? files[files.length - 1] ?? '(no file)',
        line: l?.line ?? 0,
        seq: last?.seq ?? null,
        why: `the chain ends at seq ${last?.seq ?? 0} but the anchored head is seq ${expectHead.seq}: records after seq ${last?.seq ?? 0} were cut off`,
      });
    }
    const j = idx[0]!;
    if (lineHash(lines[j]!.bytes) !== expectHead.hash) {
      return result({
        kind: 'edited',
        file: lines[j]!.file,
        line: lines[j]!.line,
        seq: expectHead.seq,
        why: `seq ${expectHead.seq} does not hash to the anchored head: the log was rewritten up to there`,
      });
    }
  }
  return result();
}

/** Names what a break in the chain at line `i` looks like. */
function classify(i: number, r: AuditRecord, expected: number, lines: readonly Line[], recs: readonly (AuditRecord | null)[], seqAt: Map<number, number[]>): { kind: BadKind; why: string } {
  const next = recs[i + 1];
  const inserted = { kind: 'inserted' as const, why: `seq ${r.seq} sits where seq ${expected} should and does not belong to the chain: a record was inserted` };
  if (r.seq === expected) {
    if (next && next.seq === r.seq) return inserted;
    return { kind: 'edited', why: `the record before it (seq ${expected - 1}) no longer hashes to the prev that seq ${r.seq} carries: it was edited (or a record was replaced)` };
  }
  if (r.seq > expected) {
    const later = [...Array(Math.min(r.seq - expected, 1000)).keys()].map((k) => expected + k).filter((s) => (seqAt.get(s) ?? []).some((j) => j > i));
    if (!later.length)
      return { kind: 'deleted', why: `seq ${r.seq} follows seq ${expected - 1}: record${r.seq - expected > 1 ? `s seq ${expected} to ${r.seq - 1} were` : ` seq ${expected} was`} deleted` };
    if ((seqAt.get(r.seq) ?? []).length > 1 || (next?.seq === expected && r.seq !== expected + 1)) return inserted;
    return { kind: 'reordered', why: `seq ${r.seq} comes where seq ${expected} should, and seq ${later[0]} appears later: records were reordered` };
  }
  const earlier = (seqAt.get(r.seq) ?? []).filter((j) => j < i);
  if (earlier.some((j) => lines[j]!.bytes.equals(lines[i]!.bytes))) return { kind: 'duplicated', why: `seq ${r.seq} appears again, byte for byte: a record was duplicated` };
  if (earlier.length) return { kind: 'inserted', why: `a second record with seq ${r.seq}: a record was inserted before it` };
  return { kind: 'reordered', why: `seq ${r.seq} comes after seq ${expected - 1}: records were reordered` };
}

/** Every readable record of the files, oldest first, and how many lines were not records (for `audit show`; no checking). */
export function readRecords(files: readonly string[]): { records: AuditRecord[]; unreadable: number } {
  const { lines, torn } = readLines(files);
  const records: AuditRecord[] = [];
  let unreadable = torn ? 1 : 0;
  for (const l of lines) {
    const p = parseLine(l.bytes);
    if (typeof p === 'string') unreadable++;
    else records.push(p.rec);
  }
  return { records, unreadable };
}
