/**
 * Capability tokens (docs/spec/tokens.md): making them, storing only their digests, revoking,
 * listing, and verifying a presented token against the stored records.
 *
 * A token is 256 random bits shown once as `ses_` + 43 base64url characters. The token file
 * `$SESAME_HOME/tokens` (0600, ours; written only through the secure-file door) holds one
 * JSON object per line: the token's SHA-256 (of its 47 ASCII characters) with its scope,
 * name, creation, expiry and revocation. The raw token is never written anywhere; it lives
 * in off-heap Buffers (allocSecret) that the caller wipes.
 *
 * Verification compares the SHA-256 of what was presented with EVERY record's digest using
 * `crypto.timingSafeEqual` (equal-length, 32 bytes each), without an early exit, so the time
 * taken does not depend on which digest (if any) matched. A revoked or expired token is
 * denied like an unknown one on the wire (`token_unknown`); the distinct reason is for the
 * agent's log, named by the token's 8-hex id only.
 *
 * Last used: the agent never writes the home (the token file is the CLI's). It may keep the
 * last use of each token in memory (`TokenUsage`) and report it through `status`; it is lost
 * when the agent stops. `token list` shows what a running agent reports (wired with the agent).
 */
import { createHash, randomFillSync, timingSafeEqual } from 'node:crypto';
import * as path from 'node:path';
import { SesameError } from '../errors.js';
import { allocSecret } from '../bytes.js';
import { acquireLock } from '../fs/lock.js';
import { ensurePrivateDir, readPrivateFileStat, writeFileAtomic } from '../fs/secure.js';
import { isValidProjectName } from '../names.js';
import { isValidKeyGlob, type TokenRecord } from './authorize.js';
import type { Scope, ScopedOp, TokenGrant } from './caller.js';

/** What every token starts with (lets scanners and people recognise one). */
export const TOKEN_PREFIX = 'ses_';
/** Random bytes per token: 256 bits. */
export const TOKEN_BYTES = 32;
/** Length of a token's text: the prefix and 43 base64url characters (no padding). */
export const TOKEN_LENGTH = TOKEN_PREFIX.length + 43;
/** The ops a scope may name, in the order `token list` shows them. */
export const SCOPED_OPS: readonly ScopedOp[] = ['status', 'get', 'getselected', 'list', 'exec', 'check'];
/** Token names: 1–64 of letters, digits and `_ . : @ -`, starting with a letter or digit. */
export const TOKEN_NAME_RULE = 'a token name must match [A-Za-z0-9][A-Za-z0-9_.:@-]* and be at most 64 characters';
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/;
const MAX_FILE_BYTES = 4 * 1024 * 1024;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A stored token: the policy's TokenRecord plus when it was made. Never the token itself. */
export interface StoredToken extends TokenRecord {
  readonly createdAtMs: number;
}

/** The token file of a home. */
export function tokenFilePath(home: string): string {
  return path.join(home, 'tokens');
}

/** True for a valid token name (TOKEN_NAME_RULE). */
export function isValidTokenName(name: string): boolean {
  return NAME_RE.test(name);
}

/** Why a presented token is refused: all are `token_unknown` on the wire; this is for the log. */
export type TokenDenial = 'token_unknown' | 'token_expired' | 'token_revoked';

/** The outcome of `verifyToken`. `id8` is given for a known (expired or revoked) token. */
export type TokenCheck = { readonly ok: true; readonly grant: TokenGrant } | { readonly ok: false; readonly reason: TokenDenial; readonly id8?: string };

/**
 * Verifies the bytes a client presented (its `token` field, any length, never turned into a
 * string) against `records` at `nowMs`. Hashes them, compares the digest with every record's
 * in constant time, then checks revocation and expiry. Pure apart from hashing; never throws
 * (a record whose digest is not 64 hex digits simply never matches). Does not wipe `presented`.
 */
export function verifyToken(presented: Buffer, records: readonly TokenRecord[], nowMs: number): TokenCheck {
  const d = createHash('sha256').update(presented).digest();
  try {
    return verifyTokenDigest(d, records, nowMs);
  } finally {
    d.fill(0);
  }
}

/**
 * `verifyToken` for a token already hashed (the agent hashes the `token` member as it decodes
 * the request, protocol-v2.ts, so the raw token is dropped at once): `digest` is its SHA-256,
 * compared with EVERY record's in constant time, no early exit. Does not wipe `digest`
 * (a digest is what the token file stores, not the token). Never throws.
 */
export function verifyTokenDigest(d: Buffer, records: readonly TokenRecord[], nowMs: number): TokenCheck {
  let hit: TokenRecord | undefined;
  for (const r of records) {
    const rd = Buffer.from(r.digest, 'hex');
    // Every record is compared (no early exit): the time does not say which one matched.
    if (rd.length === d.length && timingSafeEqual(rd, d) && hit === undefined) hit = r;
  }
  if (!hit) return { ok: false, reason: 'token_unknown' };
  if (hit.revokedAtMs !== undefined) return { ok: false, reason: 'token_revoked', id8: hit.id8 };
  if (hit.expiresAtMs !== undefined && nowMs >= hit.expiresAtMs) return { ok: false, reason: 'token_expired', id8: hit.id8 };
  return { ok: true, grant: Object.freeze({ id8: hit.id8, scope: hit.scope }) };
}

/**
 * The last use of each token, kept by the agent in memory only (the agent never writes the
 * home). `touch` on every request a token was verified for; `snapshot` for `status`.
 */
export class TokenUsage {
  readonly #last = new Map<string, number>();
  touch(id8: string, nowMs: number): void {
    this.#last.set(id8, nowMs);
  }
  lastUsed(id8: string): number | undefined {
    return this.#last.get(id8);
  }
  /** id8 → last use (ms since the epoch), as a Map (ids are data, never object keys). */
  snapshot(): ReadonlyMap<string, number> {
    return new Map(this.#last);
  }
}

/**
 * Parses the token file's text. Empty lines are skipped; anything else must be one token
 * object (docs/spec/tokens.md). Throws INVALID naming the file and the 1-based line (never
 * quoting the line) for a line that does not parse, a field that is unknown or of the wrong
 * type, an id that is not its digest's first 8 hex digits, or a digest or id seen twice.
 */
export function parseTokenFile(text: string, file: string): StoredToken[] {
  const out: StoredToken[] = [];
  const digests = new Set<string>();
  const ids = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const bad = (why: string): SesameError =>
      new SesameError('INVALID', `token file ${file}: line ${i + 1} does not parse: ${why}`, {
        hint: `fix or remove line ${i + 1} (a token whose line is removed stops working), or restore the file from a backup`,
        detail: { file, line: i + 1 },
      });
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw bad('not a JSON object');
    }
    const rec = recordOf(obj, bad);
    if (digests.has(rec.digest) || ids.has(rec.id8)) throw bad(`token ${rec.id8} appears twice`);
    digests.add(rec.digest);
    ids.add(rec.id8);
    out.push(rec);
  }
  return out;
}

const FIELDS = new Set(['v', 'id8', 'digest', 'name', 'scope', 'created_at', 'expires_at', 'revoked_at']);
const SCOPE_FIELDS = new Set(['projects', 'keys', 'ops']);

function recordOf(obj: unknown, bad: (why: string) => SesameError): StoredToken {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw bad('not a JSON object');
  const o = obj as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) throw bad(`unknown field ${JSON.stringify(k.slice(0, 32))}`);
  if (o.v !== 1) throw bad('"v" must be 1');
  if (typeof o.digest !== 'string' || !/^[0-9a-f]{64}$/.test(o.digest)) throw bad('"digest" must be 64 lowercase hex digits');
  if (o.id8 !== o.digest.slice(0, 8)) throw bad('"id8" must be the first 8 hex digits of "digest"');
  if (o.name !== undefined && (typeof o.name !== 'string' || !isValidTokenName(o.name))) throw bad(`"name": ${TOKEN_NAME_RULE}`);
  const created = timeOf(o.created_at, 'created_at', bad);
  if (created === undefined) throw bad('"created_at" is missing');
  const expires = timeOf(o.expires_at, 'expires_at', bad);
  const revoked = timeOf(o.revoked_at, 'revoked_at', bad);
  const scope = scopeOf(o.scope, bad);
  return Object.freeze({
    id8: o.id8,
    digest: o.digest,
    scope,
    ...(o.name !== undefined ? { name: o.name } : {}),
    createdAtMs: created,
    ...(expires !== undefined ? { expiresAtMs: expires } : {}),
    ...(revoked !== undefined ? { revokedAtMs: revoked } : {}),
  });
}

function timeOf(v: unknown, field: string, bad: (why: string) => SesameError): number | undefined {
  if (v === undefined) return undefined;
  const ms = typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms)) throw bad(`"${field}" must be a UTC time like 2026-01-31T12:00:00.000Z`);
  return ms;
}

function scopeOf(v: unknown, bad: (why: string) => SesameError): Scope {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('"scope" must be an object');
  const s = v as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!SCOPE_FIELDS.has(k)) throw bad(`unknown scope field ${JSON.stringify(k.slice(0, 32))}`);
  const list = (k: string, ok: (x: string) => boolean, rule: string): string[] | undefined => {
    const a = s[k];
    if (a === undefined) return undefined;
    if (!Array.isArray(a) || a.length === 0 || !a.every((x): x is string => typeof x === 'string' && ok(x))) throw bad(`"scope.${k}" must be a non-empty list of ${rule}`);
    return Object.freeze([...a]) as string[];
  };
  const projects = list('projects', isValidProjectName, 'project names');
  const keys = list('keys', isValidKeyGlob, 'key globs');
  const ops = list('ops', (x) => (SCOPED_OPS as readonly string[]).includes(x), `ops (${SCOPED_OPS.join(', ')})`) as ScopedOp[] | undefined;
  return Object.freeze({ ...(projects ? { projects } : {}), ...(keys ? { keys } : {}), ...(ops ? { ops } : {}) });
}

/**
 * Reads and parses the token file through the secure-file read door: a symlink, a FIFO,
 * another owner or group/other permission bits are refused (INSECURE, naming the file);
 * a bad line is refused (INVALID, naming the file and line). A missing file is no tokens.
 */
export function readTokenFile(file: string): StoredToken[] {
  const r = readPrivateFileStat(file, 'token file', { maxBytes: MAX_FILE_BYTES });
  if (r === null) return [];
  // Digests and scopes only: nothing in this file is a secret.
  const text = r.data.toString('utf8');
  return parseTokenFile(text, file);
}

/** One stored token as a line of the token file (docs/spec/tokens.md). */
export function tokenLine(t: StoredToken): string {
  const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());
  return JSON.stringify({
    v: 1,
    id8: t.id8,
    digest: t.digest,
    ...(t.name !== undefined ? { name: t.name } : {}),
    scope: t.scope,
    created_at: iso(t.createdAtMs),
    ...(t.expiresAtMs !== undefined ? { expires_at: iso(t.expiresAtMs) } : {}),
    ...(t.revokedAtMs !== undefined ? { revoked_at: iso(t.revokedAtMs) } : {}),
  });
}

/** Runs `fn` over the token file's records under its lock, writing back what it returns (atomic, 0600). */
function editTokenFile<T>(file: string, fn: (records: StoredToken[]) => { records: StoredToken[]; result: T }): T {
  ensurePrivateDir(path.dirname(file), { create: false });
  const lock = acquireLock(`${file}.lock`, { timeoutMs: 10_000, what: 'the token file' });
  try {
    const { records, result } = fn(readTokenFile(file));
    writeFileAtomic(file, records.map((r) => `${tokenLine(r)}\n`).join(''));
    return result;
  } finally {
    lock.release();
  }
}

/** What `newToken` needs. `ttlMs` absent: the token does not expire. */
export interface NewTokenOptions {
  readonly scope: Scope;
  readonly ttlMs?: number;
  readonly name?: string;
  readonly nowMs: number;
}

/**
 * Makes a token: 256 random bits, encoded as `ses_` + base64url into off-heap memory, and
 * stores only its SHA-256 (with scope, name, times) in `file`. Returns the token — the only
 * copy there will ever be; the caller shows it once and wipes it — and the stored record.
 * Throws INVALID for a bad name or scope (nothing is written), and what the door throws.
 */
export function newToken(file: string, opts: NewTokenOptions): { token: Buffer; record: StoredToken } {
  if (opts.name !== undefined && !isValidTokenName(opts.name)) throw new SesameError('INVALID', `invalid token name: ${TOKEN_NAME_RULE}`);
  const scope = scopeOf(opts.scope, (why) => new SesameError('INVALID', `invalid token scope: ${why.replace(/"scope\.(\w+)"/, '$1')}`));
  if (opts.ttlMs !== undefined && !(Number.isSafeInteger(opts.ttlMs) && opts.ttlMs > 0)) throw new SesameError('INVALID', 'a token TTL must be a positive whole number of milliseconds');
  return editTokenFile(file, (records) => {
    for (;;) {
      const token = makeTokenText();
      const digest = createHash('sha256').update(token).digest('hex');
      // A 32-bit id collision among one user's tokens is improbable; draw again rather than share an id.
      if (records.some((r) => r.id8 === digest.slice(0, 8))) {
        token.fill(0);
        continue;
      }
      const record: StoredToken = Object.freeze({
        id8: digest.slice(0, 8),
        digest,
        scope,
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        createdAtMs: opts.nowMs,
        ...(opts.ttlMs !== undefined ? { expiresAtMs: opts.nowMs + opts.ttlMs } : {}),
      });
      return { records: [...records, record], result: { token, record } };
    }
  });
}

/**
 * A session token (`agent start --session`): a fresh unrestricted token that is never
 * stored — only the agent started with it knows its digest (`sessionRecord`). Returns the
 * token (off-heap; the caller prints it once and wipes it) and its SHA-256 in hex.
 */
export function newSessionToken(): { token: Buffer; digest: string } {
  const token = makeTokenText();
  return { token, digest: createHash('sha256').update(token).digest('hex') };
}

/** The in-memory record of a session token from its hex digest; INVALID unless 64 lowercase hex digits. */
export function sessionRecord(digest: string): TokenRecord {
  if (!/^[0-9a-f]{64}$/.test(digest)) throw new SesameError('INVALID', 'a session token digest is 64 lowercase hex digits');
  return Object.freeze({ id8: digest.slice(0, 8), digest, scope: Object.freeze({}), name: 'session' });
}

/** `ses_` + base64url(32 random bytes), built byte by byte in off-heap memory (never a string). */
function makeTokenText(): Buffer {
  const raw = allocSecret(TOKEN_BYTES);
  const out = allocSecret(TOKEN_LENGTH);
  try {
    randomFillSync(raw);
    out.write(TOKEN_PREFIX, 0, 'latin1');
    let o = TOKEN_PREFIX.length;
    let acc = 0;
    let bits = 0;
    for (const b of raw) {
      acc = ((acc << 8) | b) & 0xffff;
      bits += 8;
      while (bits >= 6) {
        bits -= 6;
        out[o++] = B64URL.charCodeAt((acc >> bits) & 63);
      }
    }
    if (bits > 0) out[o++] = B64URL.charCodeAt((acc << (6 - bits)) & 63);
    acc = 0;
    return out;
  } finally {
    raw.fill(0);
  }
}

/**
 * Revokes the token with 8-hex id `id8` (case-insensitive) at `nowMs`: its record stays,
 * marked revoked, so the agent's log can say so. NOT_FOUND when no token has that id;
 * INVALID for an id that is not 8 hex digits. Returns the record and whether it was
 * already revoked.
 */
export function revokeToken(file: string, id8: string, nowMs: number): { record: StoredToken; already: boolean } {
  const id = id8.toLowerCase();
  if (!/^[0-9a-f]{8}$/.test(id)) throw new SesameError('INVALID', 'a token id is 8 hex digits (as the token list shows it)');
  return editTokenFile<{ record: StoredToken; already: boolean }>(file, (records) => {
    const i = records.findIndex((r) => r.id8 === id);
    const old = i === -1 ? undefined : records[i];
    if (!old) throw new SesameError('NOT_FOUND', `no token with id ${id}`, { hint: 'the token list shows every id' });
    if (old.revokedAtMs !== undefined) return { records, result: { record: old, already: true } };
    const record: StoredToken = Object.freeze({ ...old, revokedAtMs: nowMs });
    const next = [...records];
    next[i] = record;
    return { records: next, result: { record, already: false } };
  });
}

/** A token as `token list` shows it: never the token, never its digest beyond the id. */
export interface TokenInfo {
  readonly id8: string;
  readonly name: string | null;
  readonly scope: Scope;
  readonly created_at: string;
  readonly expires_at: string | null;
  readonly revoked_at: string | null;
  readonly state: 'active' | 'expired' | 'revoked';
}

/** The tokens of `file` as TokenInfo, in file order (oldest first). Reads through the door. */
export function listTokens(file: string, nowMs: number): TokenInfo[] {
  return readTokenFile(file).map((t) => ({
    id8: t.id8,
    name: t.name ?? null,
    scope: t.scope,
    created_at: new Date(t.createdAtMs).toISOString(),
    expires_at: t.expiresAtMs === undefined ? null : new Date(t.expiresAtMs).toISOString(),
    revoked_at: t.revokedAtMs === undefined ? null : new Date(t.revokedAtMs).toISOString(),
    state: t.revokedAtMs !== undefined ? 'revoked' : t.expiresAtMs !== undefined && nowMs >= t.expiresAtMs ? 'expired' : 'active',
  }));
}

/**
 * The PolicyStore loader for a home's token file (policy/store.ts `PolicyLoader`; declared
 * here structurally so this module does not depend on the store): `load()` reads the file
 * through the door each time (start and every SIGHUP) and throws what `readTokenFile` throws,
 * with `detail.file` and `detail.line`, so a bad file refuses start and a bad reload keeps
 * the old set.
 */
export function tokensLoader(paths: { readonly home: string }): { readonly name: 'tokens'; readonly file: string; load(): { readonly tokens: readonly StoredToken[] } } {
  const file = tokenFilePath(paths.home);
  return Object.freeze({ name: 'tokens' as const, file, load: () => ({ tokens: Object.freeze(readTokenFile(file)) }) });
}
