// A full disk and a read-only home never corrupt the audit log, through the CLI: the home
// lives on a small tmpfs (root only; never skipped in CI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PASSPHRASE, sesame, setSecret } from '../helpers/cli.js';
import { startAgent, stopAgent } from '../helpers/agent.js';

const VALUE = 'fulldisk-value-never-logged-e3f0';

function canMount(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (mounts a small tmpfs)';
  if (process.platform !== 'linux') return 'needs Linux (tmpfs)';
  return null;
}

const run = (cmd: string, args: string[]): void => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
};

test('a full disk or a read-only home never corrupts the audit log; the owner read warns and answers', async (t) => {
  const why = canMount();
  if (why) {
    if (process.env.CI === 'true') assert.fail(`this test must run in CI: ${why}`);
    t.skip(why);
    return;
  }
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-audit-fulldisk-'));
  const mnt = path.join(base, 'mnt');
  fs.mkdirSync(mnt);
  run('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0700', 'tmpfs', mnt]);
  try {
    const passFile = path.join(base, 'pass');
    fs.writeFileSync(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    const h = {
      dir: path.join(mnt, 'home'),
      passFile,
      env: { PATH: process.env.PATH, HOME: base, LANG: 'C.UTF-8', SESAME_HOME: path.join(mnt, 'home'), SESAME_PASSPHRASE_FILE: passFile },
      cleanup: () => undefined,
    };
    assert.equal((await sesame(['init', '--kdf-memory', '8', '--kdf-passes', '1'], { env: h.env })).code, 0);
    await setSecret(h, 'ALPHA', VALUE);
    const logFile = path.join(h.dir, 'audit.jsonl');
    for (let i = 0; i < 3; i++) assert.equal((await sesame(['get', '--no-agent', 'ALPHA'], { env: h.env })).code, 0);
    const tok = await sesame(['token', 'new', '--keys', 'ALPHA'], { env: h.env });
    assert.equal(tok.code, 0, tok.stderr);
    const { SESAME_PASSPHRASE_FILE: _p, ...rest } = h.env;
    const tokenEnv = { ...rest, SESAME_AGENT_TOKEN: tok.out.trim() };
    await startAgent(h);
    const before = fs.readFileSync(logFile);

    // Fill the disk to the last byte.
    const filler = fs.openSync(path.join(mnt, 'filler'), 'w');
    const chunk = Buffer.alloc(4096, 0x78);
    try {
      for (;;) fs.writeSync(filler, chunk);
    } catch (e) {
      assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    for (;;) {
      try {
        if (fs.writeSync(filler, chunk, 0, 1) !== 1) break;
      } catch {
        break;
      }
    }
    fs.closeSync(filler);

    const full = await sesame(['get', '--no-agent', 'ALPHA'], { env: h.env });
    assert.equal(full.code, 0, full.stderr);
    assert.equal(full.out.trim(), VALUE);
    assert.match(full.stderr, /warning: this get was NOT recorded in the audit log/);
    // Through the agent: the token's read is refused (it cannot be recorded), the owner's answered.
    const delegated = await sesame(['get', 'ALPHA'], { env: tokenEnv });
    assert.notEqual(delegated.code, 0, 'a delegated read was served unrecorded on a full disk');
    assert.ok(!delegated.out.includes(VALUE));
    assert.match(delegated.stderr, /cannot be recorded in the audit log/);
    const owner = await sesame(['get', 'ALPHA'], { env: h.env });
    assert.equal(owner.code, 0, owner.stderr);
    assert.equal(owner.out.trim(), VALUE);
    await stopAgent(h); // its stop checkpoint cannot be written either
    assert.ok(fs.readFileSync(logFile).equals(before), 'the log changed on a full disk');

    // Read-only: the same.
    fs.rmSync(path.join(mnt, 'filler'));
    run('mount', ['-o', 'remount,ro', mnt]);
    const ro = await sesame(['get', '--no-agent', 'ALPHA'], { env: h.env });
    run('mount', ['-o', 'remount,rw', mnt]);
    assert.equal(ro.code, 0, ro.stderr);
    assert.equal(ro.out.trim(), VALUE);
    assert.match(ro.stderr, /warning: this get was NOT recorded in the audit log/);
    assert.ok(fs.readFileSync(logFile).equals(before), 'the log changed on a read-only home');

    const v = await sesame(['audit', 'verify'], { env: h.env });
    assert.equal(v.code, 0, v.stderr + v.out);
    assert.ok(!fs.readFileSync(logFile, 'utf8').includes(VALUE));
  } finally {
    spawnSync('umount', [mnt]);
    fs.rmSync(base, { recursive: true, force: true });
  }
});
