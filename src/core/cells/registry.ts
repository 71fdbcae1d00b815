/**
 * The cells that registered themselves (issue 11): `cells.json` in the home, 0600, every
 * change written atomically and durably (fs/secure.ts `writeFileAtomic`), so a revocation
 * survives an agent restart.
 *
 * A cell registers on its first `resolve` with the SHA-256 of the token it presented (the
 * token itself is never stored); every later resolve must present the same token
 * (constant-time comparison). A revoked cell is denied from then on until the owner
 * `forget`s it (which only removes a revoked record: a forgotten cell may register again).
 *
 * Security caveat: the file is the owner's, not sealed: a process of the owner's uid can
 * edit it (docs/threat-model.md). It holds no secret (digests of cell tokens, ids, times).
 */
import { timingSafeEqual } from 'node:crypto';
import * as path from 'node:path';
import { SesameError } from '../errors.js';
import { readPrivateFileStat, writeFileAtomic } from '../fs/secure.js';
import { isValidCellId } from './policy.js';

/** The file's name in the home. */
export const CELLS_JSON = 'cells.json';

/** A cell as `cell list` shows it. Never secret. */
export interface CellView {
  readonly id: string;
  readonly registered_at: string | null;
  readonly last_seen: string | null;
  readonly resolves: number;
  readonly revoked_at: string | null;
}

interface CellRecord {
  id: string;
  digest: string | null;
  registered_at: string | null;
  last_seen: string | null;
  resolves: number;
  revoked_at: string | null;
}

const denied = (reason: string, message: string, hint: string): SesameError => new SesameError('DENIED', message, { hint, detail: { reason } });

/** See the module comment. */
export class CellRegistry {
  readonly #file: string;
  readonly #now: () => number;
  readonly #cells = new Map<string, CellRecord>();

  /** Loads `cells.json` of `home` (absent: empty). INVALID when it is damaged: the agent does not start on a registry it cannot read. */
  constructor(home: string, now: () => number = Date.now) {
    this.#file = path.join(home, CELLS_JSON);
    this.#now = now;
    const r = readPrivateFileStat(this.#file, 'cells registry', { maxBytes: 4 * 1024 * 1024 });
    if (!r) return;
    let doc: unknown;
    try {
      doc = JSON.parse(r.data.toString('utf8'));
    } catch {
      throw damaged(this.#file);
    }
    const cells = (doc as { v?: unknown; cells?: unknown } | null)?.cells;
    if ((doc as { v?: unknown }).v !== 1 || !Array.isArray(cells)) throw damaged(this.#file);
    for (const c of cells as unknown[]) {
      const x = c as Partial<CellRecord> | null;
      if (!x || !isValidCellId(x.id) || !(x.digest === null || (typeof x.digest === 'string' && /^[0-9a-f]{64}$/.test(x.digest)))) throw damaged(this.#file);
      this.#cells.set(x.id, {
        id: x.id,
        digest: x.digest,
        registered_at: typeof x.registered_at === 'string' ? x.registered_at : null,
        last_seen: typeof x.last_seen === 'string' ? x.last_seen : null,
        resolves: Number.isSafeInteger(x.resolves) ? (x.resolves as number) : 0,
        revoked_at: typeof x.revoked_at === 'string' ? x.revoked_at : null,
      });
    }
  }

  /**
   * Admits cell `id` presenting a token whose SHA-256 is `digest`: registers it on first use
   * (`registered`), else checks the token (`ok`). DENIED `cell_revoked` / `cell_token`.
   * Counts the resolve and persists the change.
   */
  admit(id: string, digest: Buffer): 'registered' | 'ok' {
    const now = new Date(this.#now()).toISOString();
    const c = this.#cells.get(id);
    if (c?.revoked_at) throw denied('cell_revoked', `denied: cell ${id} was revoked by the owner`, 'ask the owner; a revoked cell stays revoked until the owner forgets it');
    if (!c || c.digest === null) {
      this.#cells.set(id, { id, digest: digest.toString('hex'), registered_at: now, last_seen: now, resolves: 1, revoked_at: null });
      this.#save();
      return 'registered';
    }
    const want = Buffer.from(c.digest, 'hex');
    if (want.length !== digest.length || !timingSafeEqual(want, digest)) throw denied('cell_token', `denied: wrong token for cell ${id}`, 'present the token this cell registered with');
    c.last_seen = now;
    c.resolves += 1;
    this.#save();
    return 'ok';
  }

  /** Every known cell, by id. */
  list(): CellView[] {
    return [...this.#cells.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((c) => ({ id: c.id, registered_at: c.registered_at, last_seen: c.last_seen, resolves: c.resolves, revoked_at: c.revoked_at }));
  }

  /** Revokes cell `id` (also one never seen: it can then never register), persisted. False when it already was. */
  revoke(id: string): boolean {
    const c = this.#cells.get(id);
    if (c?.revoked_at) return false;
    const at = new Date(this.#now()).toISOString();
    if (c) c.revoked_at = at;
    else this.#cells.set(id, { id, digest: null, registered_at: null, last_seen: null, resolves: 0, revoked_at: at });
    this.#save();
    return true;
  }

  /** Removes the record of revoked cell `id`. NOT_FOUND when unknown; INVALID when not revoked. */
  forget(id: string): void {
    const c = this.#cells.get(id);
    if (!c) throw new SesameError('NOT_FOUND', `no cell ${id}`, { hint: 'list the known cells (cell list)' });
    if (!c.revoked_at) throw new SesameError('INVALID', `cell ${id} is not revoked; only a revoked cell can be forgotten`, { hint: `revoke it first: sesame cell revoke ${id}` });
    this.#cells.delete(id);
    this.#save();
  }

  #save(): void {
    writeFileAtomic(this.#file, `${JSON.stringify({ v: 1, cells: [...this.#cells.values()] })}\n`, 0o600);
  }
}

function damaged(file: string): SesameError {
  return new SesameError('INVALID', `${file} is damaged`, { hint: 'restore it, or remove it to forget every cell (revocations included)' });
}
