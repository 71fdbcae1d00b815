/**
 * I/O failures become plain errors (core: what happened, with {errno, op, path}); the atomic
 * writer says whether the target changed; hints never tell anyone to chmod a shared directory.
 * Faults the kernel will not produce on demand (EIO, an fsync of the directory failing after
 * the rename) are injected into node:fs here; the e2e suite (messages-io) makes real ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { SesameError, ioError } from '../../src/core/errors.js';
import { ensurePrivateDir, writeFileAtomic } from '../../src/core/fs/secure.js';
import { socketDirHint } from '../../src/core/agent/socket.js';

const cjsFs = createRequire(import.meta.url)('node:fs') as typeof fs;

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-msgio-'));
  fs.chmodSync(d, 0o700);
  return d;
}

function errno(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected, ${syscall}`), { code, syscall, errno: -5 });
}

/** Replaces one node:fs function (for CommonJS and ES-module importers alike) while `f` runs. */
function withFault<K extends keyof typeof fs>(name: K, impl: (typeof fs)[K], f: () => void): void {
  const orig = cjsFs[name];
  (cjsFs as Record<string, unknown>)[name] = impl;
  syncBuiltinESMExports();
  try {
    f();
  } finally {
    (cjsFs as Record<string, unknown>)[name] = orig;
    syncBuiltinESMExports();
  }
}

test('an EIO after the rename says the value was written but its durability is unknown', () => {
  const d = tmp();
  const target = path.join(d, 'vault.json');
  writeFileAtomic(target, 'old');
  const realFsync = cjsFs.fsyncSync;
  let dirSyncs = 0;
  const fsyncFault = (fd: number): void => {
    if (fs.fstatSync(fd).isDirectory()) {
      dirSyncs++;
      throw errno('EIO', 'fsync');
    }
    realFsync(fd);
  };
  withFault('fsyncSync', fsyncFault, () => {
    assert.throws(
      () => {
        writeFileAtomic(target, 'new');
      },
      (e: unknown) => {
        assert.ok(e instanceof SesameError);
        assert.equal(e.code, 'ERROR');
        assert.match(e.message, /were written, but whether they survive a crash or power loss is unknown/);
        assert.match(e.message, /EIO/);
        assert.equal(e.detail?.written, true);
        assert.equal(e.detail?.errno, 'EIO');
        return true;
      },
    );
  });
  assert.equal(dirSyncs, 1);
  assert.equal(fs.readFileSync(target, 'utf8'), 'new', 'the rename happened: the new contents are in place');
  fs.rmSync(d, { recursive: true });
});

test('a write that fails before the rename says the file was not changed and leaves no temp file', () => {
  const d = tmp();
  const target = path.join(d, 'vault.json');
  writeFileAtomic(target, 'old');
  for (const code of ['ENOSPC', 'EDQUOT', 'EIO']) {
    withFault(
      'writeSync',
      () => {
        throw errno(code, 'write');
      },
      () => {
        assert.throws(
          () => {
            writeFileAtomic(target, 'new');
          },
          (e: unknown) =>
            e instanceof SesameError && e.detail?.errno === code && e.detail?.op === 'write' && e.detail?.path === target && /it was not changed/.test(e.message) && !('written' in (e.detail ?? {})),
        );
      },
    );
    assert.equal(fs.readFileSync(target, 'utf8'), 'old');
    assert.deepEqual(fs.readdirSync(d), ['vault.json']);
  }
  fs.rmSync(d, { recursive: true });
});

test('ioError explains known errno codes and leaves anything else to read as a bug', () => {
  for (const code of ['ENOSPC', 'EACCES', 'EPERM', 'ELOOP', 'EIO', 'EROFS', 'EDQUOT', 'EMFILE', 'ENFILE']) {
    const e = ioError(Object.assign(errno(code, 'open'), { path: '/x/vault.json' }));
    assert.ok(e, code);
    assert.equal(e.code, 'ERROR');
    assert.deepEqual(e.detail, { errno: code, op: 'open', path: '/x/vault.json' });
    assert.match(e.message, new RegExp(`/x/vault\\.json: .*\\(${code}\\)$`));
  }
  assert.equal(ioError(new TypeError('x is not a function')), null);
  assert.equal(ioError(errno('EWEIRD', 'open')), null);
  assert.equal(ioError(new SesameError('NOT_FOUND', 'no key')), null);
});

test('a shared directory (/tmp, /dev/shm) is never answered with chmod or chown', () => {
  for (const dir of ['/tmp', '/dev/shm'].filter((p) => fs.existsSync(p))) {
    assert.throws(
      () => {
        ensurePrivateDir(dir, { create: false, what: 'XDG_RUNTIME_DIR' });
      },
      (e: unknown) => e instanceof SesameError && e.code === 'INSECURE' && !/chmod [0-7]|chown \d/.test(e.hint ?? '') && /mkdir -m 700 '\/.*\/sesame-\d+'/.test(e.hint ?? ''),
    );
    const hint = socketDirHint(path.join(dir, 'x.sock'));
    assert.doesNotMatch(hint, /chmod 700 '\/(tmp|dev\/shm)'/);
    assert.match(hint, new RegExp(`mkdir -m 700 '${dir}/sesame-\\d+' && export SESAME_AGENT_SOCK='${dir}/sesame-\\d+/x\\.sock'`));
  }
});
