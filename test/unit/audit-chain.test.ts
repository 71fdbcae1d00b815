import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditKey, AuditLog, appendOrDeny, auditFiles } from '../../src/core/audit/log.js';
import { chainHead, parseHead, verifyChain } from '../../src/core/audit/verify.js';
import { argvHash, type AuditInput } from '../../src/core/audit/record.js';
import { SecureKey, deriveSubkey, mac } from '../../src/core/crypto/sodium.js';
import { SesameError } from '../../src/core/errors.js';

function home(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-audit-'));
}

const ev = (event: string, keys: string[] = []): AuditInput => ({ event, outcome: 'ok', via: 'cli', project: 'default', keys, peer: { uid: 1000, pid: 42, exe: '/usr/bin/node' } });

/** A home with `n` keyed set records; returns the key (caller disposes) and the log. */
function keyedLog(n: number, master = SecureKey.random()): { dir: string; key: AuditKey; log: AuditLog; master: SecureKey } {
  const dir = home();
  const key = AuditKey.fromMaster(master);
  const log = new AuditLog(dir, key);
  for (let i = 1; i <= n; i++) log.append(ev('set', [`K${i}`]));
  return { dir, key, log, master };
}

function lines(dir: string): string[] {
  return fs.readFileSync(path.join(dir, 'audit.jsonl'), 'utf8').split('\n').slice(0, -1);
}
function writeLines(dir: string, ls: string[]): void {
  fs.writeFileSync(path.join(dir, 'audit.jsonl'), ls.map((l) => `${l}\n`).join(''));
}

test('an intact chain verifies: every MAC checked, head = last seq and hash', () => {
  const { dir, key } = keyedLog(5);
  const r = verifyChain(auditFiles(dir), key);
  assert.equal(r.ok, true, JSON.stringify(r.bad));
  assert.equal(r.records, 5);
  assert.equal(r.macChecked, 5);
  assert.deepEqual(r.head, chainHead(auditFiles(dir)));
  assert.equal(r.head?.seq, 5);
  key.dispose();
});

test('the log file is 0600 and each record names keys, never anything else free-form', () => {
  const { dir, key } = keyedLog(1);
  assert.equal(fs.statSync(path.join(dir, 'audit.jsonl')).mode & 0o777, 0o600);
  const rec = JSON.parse(lines(dir)[0]!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(rec), ['v', 'seq', 'prev', 'time', 'event', 'outcome', 'via', 'project', 'keys', 'peer', 'kid', 'mac']);
  assert.match(rec.time as string, /Z$/);
  key.dispose();
});

test('refuses a field that could carry a secret (a reason with spaces, a key that is not a name, a bad via)', () => {
  const log = new AuditLog(home());
  for (const bad of [
    { ...ev('set'), reason: 'hunter2 is the password' },
    ev('set', ['not a name=value']),
    { ...ev('get'), via: 'token:sk_live_abcdef0123456789' },
    { ...ev('get'), request: 'x'.repeat(100) },
  ]) {
    assert.throws(
      () => log.append(bad),
      (e: unknown) => e instanceof SesameError && e.code === 'INVALID' && !e.message.includes('hunter2') && !e.message.includes('sk_live'),
    );
  }
  assert.deepEqual(auditFiles(log.paths.dir), []);
});

test('argv is recorded only as a hash, and the hash separates argument boundaries', () => {
  assert.notEqual(argvHash(['a b']), argvHash(['a', 'b']));
  assert.match(argvHash(['curl', '-H', 'Authorization: secret']), /^[0-9a-f]{64}$/);
});

test('the audit subkey is its own key: not the master key, not another context', () => {
  const master = SecureKey.random();
  const a = deriveSubkey(master, 'sesame/v1/audit-hmac');
  const b = deriveSubkey(master, 'sesame/v1/other');
  const msg = Buffer.from('x');
  assert.notDeepEqual(mac(a, msg), mac(master, msg));
  assert.notDeepEqual(mac(a, msg), mac(b, msg));
  assert.deepEqual(mac(a, msg), mac(deriveSubkey(master, 'sesame/v1/audit-hmac'), msg));
  for (const k of [a, b, master]) k.dispose();
});

test('an edited, deleted, reordered, inserted or duplicated record is caught and named', () => {
  const cases: Array<[string, (ls: string[]) => string[], string, number]> = [
    ['edited (keyed: the MAC)', (ls) => ls.map((l, i) => (i === 2 ? l.replace('"K3"', '"K9"') : l)), 'bad_mac', 3],
    ['deleted', (ls) => ls.filter((_, i) => i !== 2), 'deleted', 4],
    ['reordered', (ls) => [ls[0]!, ls[2]!, ls[1]!, ls[3]!, ls[4]!], 'reordered', 3],
    ['duplicated', (ls) => [ls[0]!, ls[1]!, ls[1]!, ...ls.slice(2)], 'duplicated', 2],
    ['inserted (a copy with its seq renumbered)', (ls) => [ls[0]!, ls[1]!.replace('"seq":2', '"seq":3'), ...ls.slice(1)], 'inserted', 3],
  ];
  for (const [name, tamper, kind, seq] of cases) {
    const { dir, key } = keyedLog(5);
    writeLines(dir, tamper(lines(dir)));
    const r = verifyChain(auditFiles(dir), key);
    assert.equal(r.ok, false, name);
    assert.equal(r.bad?.kind, kind, `${name}: ${JSON.stringify(r.bad)}`);
    assert.equal(r.bad.seq, seq, `${name}: ${JSON.stringify(r.bad)}`);
    assert.ok(r.bad.line > 0 && r.bad.file.endsWith('audit.jsonl'));
    key.dispose();
  }
});

test('an edit of an unkeyed record is named by the chain (the next record no longer links to it)', () => {
  const dir = home();
  const log = new AuditLog(dir);
  for (let i = 0; i < 4; i++) log.append(ev('list'));
  writeLines(
    dir,
    lines(dir).map((l, i) => (i === 1 ? l.replace('"outcome":"ok"', '"outcome":"denied"') : l)),
  );
  const r = verifyChain(auditFiles(dir));
  assert.equal(r.bad?.kind, 'edited');
  assert.equal(r.bad.seq, 2);
});

test('a log rewritten under another key fails: its records are not under this vault key (foreign_key)', () => {
  const { dir, key } = keyedLog(3);
  const other = AuditKey.fromMaster(SecureKey.random());
  // The attacker rewrites the log with their own key: every record "verifies" under theirs, not ours.
  const forged = home();
  const flog = new AuditLog(forged, other);
  for (let i = 1; i <= 3; i++) flog.append(ev('set', [`K${i}`]));
  fs.copyFileSync(path.join(forged, 'audit.jsonl'), path.join(dir, 'audit.jsonl'));
  const r = verifyChain(auditFiles(dir), key);
  assert.equal(r.bad?.kind, 'foreign_key');
  key.dispose();
  other.dispose();
});

test('an unkeyed record after keyed ones is reported', () => {
  const { dir, key, log } = keyedLog(2);
  log.setKey(undefined);
  log.append({ ...ev('unlock'), outcome: 'denied', reason: 'wrong_passphrase' }); // legitimately unkeyed
  let r = verifyChain(auditFiles(dir), key);
  assert.equal(r.ok, true);
  assert.ok(
    r.warnings.some((w) => w.includes('seq 3') && w.includes('unkeyed')),
    r.warnings.join('\n'),
  );
  log.append(ev('set', ['FORGED'])); // a set always has the key: unkeyed means forged
  r = verifyChain(auditFiles(dir), key);
  assert.equal(r.ok, false);
  assert.equal(r.bad?.kind, 'unkeyed_after_keyed');
  assert.equal(r.bad.seq, 4);
  key.dispose();
});

test('records of an earlier vault key are covered by a later record under the current key (init --force)', () => {
  const { dir, key, log } = keyedLog(2);
  const next = AuditKey.fromMaster(SecureKey.random());
  log.setKey(undefined);
  log.append(ev('init'));
  log.setKey(next);
  log.append(ev('set', ['NEW']));
  const r = verifyChain(auditFiles(dir), next);
  assert.equal(r.ok, true, JSON.stringify(r.bad));
  assert.equal(r.earlierKey, 2);
  assert.equal(r.macChecked, 1);
  key.dispose();
  next.dispose();
});

test('--expect-head catches a truncated tail', () => {
  const { dir, key } = keyedLog(5);
  const head = chainHead(auditFiles(dir))!;
  assert.equal(verifyChain(auditFiles(dir), key, head).ok, true);
  writeLines(dir, lines(dir).slice(0, 3));
  assert.equal(verifyChain(auditFiles(dir), key).ok, true, 'the file alone cannot show a cut tail');
  const r = verifyChain(auditFiles(dir), key, parseHead(`${head.seq}:${head.hash}`));
  assert.equal(r.ok, false);
  assert.equal(r.bad?.kind, 'truncated');
  assert.match(r.bad.why, /ends at seq 3 but the anchored head is seq 5/);
  // A rewritten log that reaches the same seq does not match the anchored hash either.
  assert.equal(verifyChain(auditFiles(dir), key, { seq: 2, hash: head.hash }).bad?.kind, 'edited');
  key.dispose();
});

test('rotation keeps the chain', () => {
  const dir = home();
  const key = AuditKey.fromMaster(SecureKey.random());
  const log = new AuditLog(dir, key, { maxBytes: 1200 });
  for (let i = 1; i <= 20; i++) log.append(ev('set', [`KEY_${i}`]));
  const files = auditFiles(dir);
  assert.ok(files.length >= 4, `rotated into ${files.length} files`);
  assert.match(path.basename(files[0]!), /^audit\.jsonl\.000001$/);
  for (const f of files) assert.ok(fs.statSync(f).size <= 1200);
  const r = verifyChain(files, key);
  assert.equal(r.ok, true, JSON.stringify(r.bad));
  assert.equal(r.records, 20);
  // The first record of each newer file carries the hash of the older file's last line.
  const second = fs.readFileSync(files[1]!, 'utf8').split('\n')[0]!;
  assert.notEqual((JSON.parse(second) as { prev: string }).prev, '0'.repeat(64));
  // A whole rotated file removed from the middle is caught.
  fs.rmSync(files[1]!);
  assert.equal(verifyChain(auditFiles(dir), key).bad?.kind, 'deleted');
  key.dispose();
});

test('a failed append leaves the log as it was (short write, ENOSPC mid-line, EROFS)', () => {
  const { dir, key } = keyedLog(3);
  const file = path.join(dir, 'audit.jsonl');
  const before = fs.readFileSync(file);
  const faults: Array<(fd: number, buf: Buffer) => number> = [
    (fd, buf) => fs.writeSync(fd, buf, 0, Math.floor(buf.length / 2)), // a short write
    (fd, buf) => {
      fs.writeSync(fd, buf, 0, 10);
      throw Object.assign(new Error('no space'), { code: 'ENOSPC', syscall: 'write' });
    },
    () => {
      throw Object.assign(new Error('read-only'), { code: 'EROFS', syscall: 'write' });
    },
  ];
  for (const write of faults) {
    const log = new AuditLog(dir, key, { write });
    assert.throws(
      () => log.append(ev('set', ['X'])),
      (e: unknown) => e instanceof SesameError && /left as it was/.test(e.message),
    );
    assert.deepEqual(fs.readFileSync(file), before);
  }
  assert.equal(verifyChain(auditFiles(dir), key).ok, true);
  // A torn line left by a writer that died mid-append is cut by the next writer.
  fs.appendFileSync(file, '{"v":1,"seq":4,"pr');
  new AuditLog(dir, key).append(ev('rm', ['X']));
  const r = verifyChain(auditFiles(dir), key);
  assert.equal(r.ok, true, JSON.stringify(r.bad));
  assert.equal(r.records, 4);
  key.dispose();
});

test('a delegated read that cannot be audited is denied (audit_unavailable); an owner read warns', () => {
  const dir = home();
  const broken = new AuditLog(dir, undefined, {
    write: () => {
      throw Object.assign(new Error('no space'), { code: 'ENOSPC', syscall: 'write' });
    },
  });
  const warnings: string[] = [];
  assert.throws(
    () => appendOrDeny(broken, { ...ev('get', ['K']), via: 'token:0123abcd' }, { delegated: true, warn: (m) => warnings.push(m) }),
    (e: unknown) => e instanceof SesameError && e.code === 'DENIED' && e.detail?.reason === 'audit_unavailable',
  );
  assert.equal(warnings.length, 0);
  assert.equal(appendOrDeny(broken, ev('get', ['K']), { delegated: false, warn: (m) => warnings.push(m) }), null);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /NOT recorded/);
});

test('refuses a log that is not a private regular file (a symlink, group-readable)', () => {
  const dir = home();
  // A symlink to a file of our own: a regression must not make the test write outside its dir.
  fs.writeFileSync(path.join(dir, 'elsewhere'), 'x\n', { mode: 0o600 });
  fs.symlinkSync(path.join(dir, 'elsewhere'), path.join(dir, 'audit.jsonl'));
  assert.throws(() => new AuditLog(dir).append(ev('list')));
  fs.rmSync(path.join(dir, 'audit.jsonl'));
  fs.writeFileSync(path.join(dir, 'audit.jsonl'), '', { mode: 0o644 });
  fs.chmodSync(path.join(dir, 'audit.jsonl'), 0o644);
  assert.throws(
    () => new AuditLog(dir).append(ev('list')),
    (e: unknown) => e instanceof SesameError && e.code === 'INSECURE',
  );
});
