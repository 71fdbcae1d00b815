/**
 * A hint never suggests something harmful: an agent socket (SESAME_AGENT_SOCK) in a shared,
 * world-writable directory (/tmp, /dev/shm) is answered with a private subdirectory to make
 * and point SESAME_AGENT_SOCK into — never `chmod 700 '/tmp'`, never a chown of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { initHome, sesame } from '../helpers/cli.js';

const SHARED = ['/tmp', '/dev/shm'].filter((d) => fs.existsSync(d));

function assertSafeHint(stderr: string, dir: string): void {
  const hint = stderr.split('\n').find((l) => l.startsWith('hint: ')) ?? '';
  assert.doesNotMatch(stderr, new RegExp(`chmod [0-7]+ '?${dir}'?(\\s|$)`), 'never chmod a shared directory');
  assert.doesNotMatch(stderr, new RegExp(`chown \\S+ '?${dir}'?(\\s|$)`), 'never chown a shared directory');
  assert.match(hint, new RegExp(`mkdir -m 700 '${dir}/sesame-\\d+'`), stderr);
  assert.match(hint, new RegExp(`SESAME_AGENT_SOCK='${dir}/sesame-\\d+/[^/']+\\.sock'`), stderr);
}

test('agent start with SESAME_AGENT_SOCK in /tmp or /dev/shm suggests a private subdirectory, never chmod of the shared one', async () => {
  const h = await initHome();
  try {
    for (const dir of SHARED) {
      const sock = path.join(dir, `sesame-hint-${process.pid}.sock`);
      const r = await sesame(['agent', 'start', '--background'], { env: { ...h.env, SESAME_AGENT_SOCK: sock } });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`agent socket directory ${dir} is a shared directory`));
      assertSafeHint(r.stderr, dir);
      assert.ok(!fs.existsSync(sock), 'nothing was bound there');
    }
  } finally {
    h.cleanup();
  }
});

test('a reader facing our own socket in /tmp or /dev/shm refuses it and suggests a private subdirectory', async () => {
  const h = await initHome();
  try {
    for (const dir of SHARED) {
      const sock = path.join(dir, `sesame-hint-get-${process.pid}.sock`);
      const server = net.createServer((c) => c.destroy());
      await new Promise<void>((resolve) => server.listen(sock, resolve));
      try {
        const r = await sesame(['get', 'API'], { env: { ...h.env, SESAME_AGENT_SOCK: sock } });
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /is not private to you/);
        assertSafeHint(r.stderr, dir);
      } finally {
        await new Promise<void>((resolve) =>
          server.close(() => {
            resolve();
          }),
        );
        fs.rmSync(sock, { force: true });
      }
    }
  } finally {
    h.cleanup();
  }
});

test('XDG_RUNTIME_DIR in /tmp or /dev/shm (session file store) suggests a private subdirectory, never chmod of the shared one', async () => {
  const h = await initHome();
  try {
    for (const dir of SHARED) {
      const r = await sesame(['unlock'], { env: { ...h.env, XDG_RUNTIME_DIR: dir, SESAME_SESSION_STORE: 'file' } });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`XDG_RUNTIME_DIR ${dir} is a shared directory`));
      assert.doesNotMatch(r.stderr, new RegExp(`chmod [0-7]+ '?${dir}'?(\\s|$)|chown \\S+ '?${dir}'?(\\s|$)`));
      assert.match(r.stderr, new RegExp(`hint: .*mkdir -m 700 '${dir}/sesame-\\d+'`));
    }
  } finally {
    h.cleanup();
  }
});
