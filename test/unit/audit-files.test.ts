// How the audit log's files are locked and read: one lock routine (BUSY names the holder),
// verify through the private-file door, head from the tail only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditLog, auditFiles } from '../../src/core/audit/log.js';
import { chainHead, verifyChain } from '../../src/core/audit/verify.js';
import type { AuditInput } from '../../src/core/audit/record.js';
import { acquireLock } from '../../src/core/fs/lock.js';
import { SesameError } from '../../src/core/errors.js';

function home(t: { after(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-audit-files-'));
  t.after(() => {
    fs.rmSync(d, { recursive: true, force: true });
  });
  return d;
}

const ev: AuditInput = { event: 'list', outcome: 'ok', via: 'cli', project: 'default' };

test("a writer held off by the audit log's lock is told the holder's pid, kept-open or not, and gets the lock once it is free", (t) => {
  const dir = home(t);
  new AuditLog(dir).append(ev);
  const held = acquireLock(path.join(dir, 'audit.lock'), { timeoutMs: 1000, what: 'a test' });
  for (const keepOpen of [false, true]) {
    const log = new AuditLog(dir, undefined, { keepOpen, lockTimeoutMs: 60 });
    assert.throws(
      () => log.append(ev),
      (e: unknown) => e instanceof SesameError && e.code === 'BUSY' && e.message.includes(`by pid ${process.pid}`) && e.detail?.pid === process.pid,
    );
    log.close();
  }
  held.release();
  const kept = new AuditLog(dir, undefined, { keepOpen: true });
  assert.equal(kept.append(ev).seq, 2);
  assert.equal(fs.readFileSync(path.join(dir, 'audit.lock'), 'utf8'), '', 'the pid record is cleared when the lock is released');
  kept.close();
  assert.equal(verifyChain(auditFiles(dir)).ok, true);
});

test('audit verify refuses a log file others could have written, or one reached through a symlink, instead of vouching for it', (t) => {
  const dir = home(t);
  const log = new AuditLog(dir);
  log.append(ev);
  const file = path.join(dir, 'audit.jsonl');
  fs.chmodSync(file, 0o620);
  assert.throws(
    () => verifyChain(auditFiles(dir)),
    (e: unknown) => e instanceof SesameError && e.code === 'INSECURE' && /group or others/.test(e.message),
  );
  fs.chmodSync(file, 0o600);
  assert.equal(verifyChain(auditFiles(dir)).ok, true);
  const other = home(t);
  fs.renameSync(file, path.join(other, 'real.jsonl'));
  fs.symlinkSync(path.join(other, 'real.jsonl'), file);
  assert.throws(
    () => verifyChain(auditFiles(dir)),
    (e: unknown) => e instanceof SesameError && e.code === 'INSECURE' && /symlink/.test(e.message),
  );
  assert.throws(
    () => chainHead(auditFiles(dir)),
    (e: unknown) => (e as NodeJS.ErrnoException).code === 'ELOOP' || (e instanceof SesameError && e.code === 'INSECURE'),
  );
});

test('audit head reads only the tail: it answers for a log far larger than any whole read would be allowed', (t) => {
  const dir = home(t);
  const log = new AuditLog(dir);
  log.append(ev);
  const file = path.join(dir, 'audit.jsonl');
  const line = fs.readFileSync(file);
  // 600 MiB of holes (a sparse file: no disk used) and a newline, then the real record: verify
  // refuses to read it whole (over its 512 MiB cap); head reads the last few KiB.
  fs.writeFileSync(file, Buffer.alloc(0));
  const fd = fs.openSync(file, 'r+');
  fs.ftruncateSync(fd, 600 * 1024 * 1024);
  fs.writeSync(fd, Buffer.concat([Buffer.from('\n'), line]), 0, line.length + 1, 600 * 1024 * 1024);
  fs.closeSync(fd);
  const head = chainHead(auditFiles(dir));
  assert.equal(head?.seq, 1);
  assert.throws(
    () => verifyChain(auditFiles(dir)),
    (e: unknown) => e instanceof SesameError && e.code === 'INVALID' && /larger than/.test(e.message),
  );
});
