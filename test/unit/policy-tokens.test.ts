/**
 * Capability tokens (src/core/policy/tokens.ts): only digests are stored, verification is a
 * constant-time digest comparison, expired and revoked tokens are denied like unknown ones,
 * and a token file that is loose, foreign or unparsable is refused naming the file and line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SesameError } from '../../src/core/errors.js';
import { ROOT } from '../helpers/cli.js';
import { listTokens, newToken, parseTokenFile, readTokenFile, revokeToken, tokenFilePath, tokensLoader, verifyToken, TOKEN_LENGTH, TOKEN_PREFIX, TokenUsage } from '../../src/core/policy/tokens.js';

function home(): { dir: string; file: string; done(): void } {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-tokens-'));
  fs.chmodSync(base, 0o700);
  return {
    dir: base,
    file: tokenFilePath(base),
    done: () => {
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

function everyFile(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? everyFile(path.join(dir, d.name)) : [path.join(dir, d.name)]));
}

const NOW = Date.parse('2026-11-30T12:00:00.000Z');

test('stores only the digest; the raw token appears in no file', () => {
  const h = home();
  try {
    const { token, record } = newToken(h.file, { scope: { projects: ['work'], keys: ['API_*'], ops: ['get', 'getselected'] }, ttlMs: 3_600_000, name: 'ci', nowMs: NOW });
    assert.equal(token.length, TOKEN_LENGTH);
    assert.equal(token.subarray(0, 4).toString('latin1'), TOKEN_PREFIX);
    assert.match(token.subarray(4).toString('latin1'), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(record.digest, createHash('sha256').update(token).digest('hex'));
    assert.equal(record.id8, record.digest.slice(0, 8));
    assert.equal(fs.statSync(h.file).mode & 0o777, 0o600);
    const raw = Buffer.from(token);
    const body = Buffer.from(token.subarray(4)); // without the prefix too
    for (const f of everyFile(h.dir)) {
      const data = fs.readFileSync(f);
      assert.equal(data.indexOf(raw), -1, `${f} holds the token`);
      assert.equal(data.indexOf(body), -1, `${f} holds the token's body`);
    }
    const [stored] = readTokenFile(h.file);
    assert.equal(stored!.digest, record.digest);
    assert.deepEqual(stored!.scope, { projects: ['work'], keys: ['API_*'], ops: ['get', 'getselected'] });
    assert.equal(stored!.expiresAtMs, NOW + 3_600_000);
    const ok = verifyToken(token, readTokenFile(h.file), NOW + 1000);
    assert.deepEqual(ok, { ok: true, grant: { id8: record.id8, scope: stored!.scope } });
    token.fill(0);
  } finally {
    h.done();
  }
});

test('two tokens are different and each verifies as itself', () => {
  const h = home();
  try {
    const a = newToken(h.file, { scope: {}, nowMs: NOW });
    const b = newToken(h.file, { scope: { ops: ['list'] }, nowMs: NOW });
    assert.notDeepEqual(a.token, b.token);
    const recs = readTokenFile(h.file);
    assert.equal(recs.length, 2);
    const va = verifyToken(a.token, recs, NOW);
    const vb = verifyToken(b.token, recs, NOW);
    assert.ok(va.ok && va.grant.id8 === a.record.id8);
    assert.ok(vb.ok && vb.grant.id8 === b.record.id8);
  } finally {
    h.done();
  }
});

test('an expired token is denied like an unknown one', () => {
  const h = home();
  try {
    const { token, record } = newToken(h.file, { scope: {}, ttlMs: 60_000, nowMs: NOW });
    const recs = readTokenFile(h.file);
    assert.equal(verifyToken(token, recs, NOW + 59_999).ok, true);
    const expired = verifyToken(token, recs, NOW + 60_000);
    assert.deepEqual(expired, { ok: false, reason: 'token_expired', id8: record.id8 });
    const unknown = verifyToken(Buffer.from(`${TOKEN_PREFIX}${'A'.repeat(43)}`), recs, NOW);
    assert.deepEqual(unknown, { ok: false, reason: 'token_unknown' });
    // Neither carries a grant: the connection layer answers both with the same token_unknown denial.
    assert.ok(!expired.ok && !unknown.ok);
    assert.equal(listTokens(h.file, NOW + 60_000)[0]!.state, 'expired');
  } finally {
    h.done();
  }
});

test('a revoked token is denied on the next verification, with its own reason for the log', () => {
  const h = home();
  try {
    const { token, record } = newToken(h.file, { scope: {}, nowMs: NOW });
    assert.equal(verifyToken(token, readTokenFile(h.file), NOW).ok, true);
    const r = revokeToken(h.file, record.id8.toUpperCase(), NOW + 5);
    assert.equal(r.already, false);
    assert.deepEqual(verifyToken(token, readTokenFile(h.file), NOW + 6), { ok: false, reason: 'token_revoked', id8: record.id8 });
    assert.equal(revokeToken(h.file, record.id8, NOW + 7).already, true);
    assert.equal(listTokens(h.file, NOW)[0]!.state, 'revoked');
    assert.throws(
      () => revokeToken(h.file, '00000000', NOW),
      (e: unknown) => e instanceof SesameError && e.code === 'NOT_FOUND',
    );
    assert.throws(
      () => revokeToken(h.file, 'nothex!!', NOW),
      (e: unknown) => e instanceof SesameError && e.code === 'INVALID',
    );
  } finally {
    h.done();
  }
});

test('compares in constant time — uses timingSafeEqual on equal-length digests', () => {
  const h = home();
  try {
    const { token } = newToken(h.file, { scope: {}, nowMs: NOW });
    const recs = readTokenFile(h.file);
    // Any length of input is hashed first, so the comparison is always 32 bytes to 32 bytes: nothing throws.
    for (const presented of [Buffer.alloc(0), Buffer.from('x'), Buffer.alloc(512, 0x41), token.subarray(0, TOKEN_LENGTH - 1), Buffer.concat([token, Buffer.from('A')])]) {
      assert.deepEqual(verifyToken(presented, recs, NOW), { ok: false, reason: 'token_unknown' });
    }
    // A record whose digest is damaged (wrong length) never matches and never throws.
    const damaged = [{ ...recs[0]!, digest: recs[0]!.digest.slice(0, 10) }];
    assert.deepEqual(verifyToken(token, damaged, NOW), { ok: false, reason: 'token_unknown' });
    assert.equal(verifyToken(token, recs, NOW).ok, true);
    // The source compares with timingSafeEqual and nowhere with === on digests.
    const src = fs.readFileSync(path.join(ROOT, 'src/core/policy/tokens.ts'), 'utf8');
    const body = src.slice(src.indexOf('export function verifyToken'), src.indexOf('export class TokenUsage'));
    assert.match(body, /rd\.length === d\.length && timingSafeEqual\(rd, d\)/);
    assert.doesNotMatch(body, /digest\s*===|===\s*\w*\.digest/);
  } finally {
    h.done();
  }
});

test('a loose-permission or foreign-owned token file is refused naming the file', () => {
  const h = home();
  try {
    newToken(h.file, { scope: {}, nowMs: NOW });
    fs.chmodSync(h.file, 0o640);
    assert.throws(
      () => tokensLoader({ home: h.dir }).load(),
      (e: unknown) => e instanceof SesameError && e.code === 'INSECURE' && e.message.includes(h.file),
    );
    fs.chmodSync(h.file, 0o600);
    assert.equal(tokensLoader({ home: h.dir }).load().tokens.length, 1);
    const link = path.join(h.dir, 'elsewhere');
    fs.renameSync(h.file, link);
    fs.symlinkSync(link, h.file);
    assert.throws(
      () => readTokenFile(h.file),
      (e: unknown) => e instanceof SesameError && e.code === 'INSECURE' && e.message.includes(h.file),
    );
    fs.unlinkSync(h.file);
    fs.renameSync(link, h.file);
    if (process.getuid?.() === 0) {
      fs.chownSync(h.file, 4242, 4242);
      assert.throws(
        () => readTokenFile(h.file),
        (e: unknown) => e instanceof SesameError && e.code === 'INSECURE' && e.message.includes(h.file) && /owned by uid 4242/.test(e.message),
      );
    } else if (process.env.CI === 'true') assert.fail('the foreign-owner case needs root (chown) in CI');
    else console.log('# skipped the foreign-owner case: needs root to chown the file');
  } finally {
    h.done();
  }
});

test('an unparsable line is refused naming the line', () => {
  const h = home();
  try {
    newToken(h.file, { scope: {}, nowMs: NOW });
    const good = fs.readFileSync(h.file, 'utf8');
    const cases = ['{not json', '{"v":1}', good.trim().replace('"v":1', '"v":1,"extra":true'), good.trim().replace(/"id8":"[0-9a-f]{8}"/, '"id8":"ffffffff"'), good.trim()];
    for (const bad of cases) {
      fs.writeFileSync(h.file, `${good}\n${bad}\n`, { mode: 0o600 });
      assert.throws(
        () => tokensLoader({ home: h.dir }).load(),
        (e: unknown) => e instanceof SesameError && e.code === 'INVALID' && e.message.includes(h.file) && e.message.includes('line 3') && e.detail?.line === 3 && !e.message.includes(bad.slice(0, 20)),
        bad,
      );
    }
    assert.deepEqual(parseTokenFile('\n\n', 'f'), []);
  } finally {
    h.done();
  }
});

test('a bad name or scope writes nothing', () => {
  const h = home();
  try {
    assert.throws(() => newToken(h.file, { scope: {}, name: 'has space', nowMs: NOW }), /token name/);
    assert.throws(() => newToken(h.file, { scope: { keys: ['A-B'] }, nowMs: NOW }), /keys/);
    assert.throws(() => newToken(h.file, { scope: { projects: [] }, nowMs: NOW }), /projects/);
    assert.equal(fs.existsSync(h.file), false);
  } finally {
    h.done();
  }
});

test('last use is kept in memory only, by id', () => {
  const u = new TokenUsage();
  u.touch('0badc0de', 5);
  u.touch('0badc0de', 9);
  assert.equal(u.lastUsed('0badc0de'), 9);
  assert.equal(u.lastUsed('__proto__'), undefined);
  assert.deepEqual([...u.snapshot()], [['0badc0de', 9]]);
});
