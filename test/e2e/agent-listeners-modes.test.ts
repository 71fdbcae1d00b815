/**
 * The listener list (core/agent/listeners.ts): each socket is bound with its kind's mode in a
 * private directory, stale sockets are cleaned, a non-socket is refused and left alone, and
 * binding is all-or-nothing; closing unlinks every socket that is still ours.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { homePaths } from '../../src/core/paths.js';
import { SesameError } from '../../src/core/errors.js';
import { CLIENT_TRUST, cellListener, closeListeners, listenerInfo, openListeners, ownerListener, profileListener } from '../../src/core/agent/listeners.js';

function tmpHome(): { home: string; cleanup: () => void } {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-'));
  fs.chmodSync(base, 0o700);
  const home = path.join(base, 'h');
  fs.mkdirSync(home, { mode: 0o700 });
  return {
    home,
    cleanup: () => {
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Leaves a dead socket at `p`: its listener was SIGKILLed, so nothing unlinked it. */
function deadSocket(p: string): void {
  fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o700 });
  spawnSync(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))", p]);
  assert.ok(fs.lstatSync(p).isSocket(), 'the dead socket is there');
}

const mode = (p: string): number => fs.lstatSync(p).mode & 0o777;

test('owner 0600, same-uid profile 0600, peer "any" profile and cell 0666 — every directory 0700', async () => {
  const { home, cleanup } = tmpHome();
  const specs = [ownerListener(homePaths(home, {})), profileListener(home, 'mine', 'same-uid', {}), profileListener(home, 'ci', 'any', {}), cellListener(home, [1234], {})];
  try {
    const open = await openListeners(specs, (c) => c.destroy());
    try {
      assert.deepEqual(open.map(listenerInfo), [
        { kind: 'owner', socket: path.join(home, 'agent.sock') },
        { kind: 'profile', name: 'mine', socket: path.join(home, 'sockets', 'mine.sock') },
        { kind: 'profile', name: 'ci', socket: path.join(home, 'sockets', 'ci.sock') },
        { kind: 'cell', socket: path.join(home, 'cells.sock') },
      ]);
      assert.deepEqual(
        open.map((l) => mode(l.spec.socket)),
        [0o600, 0o600, 0o666, 0o666],
      );
      assert.equal(mode(path.join(home, 'sockets')), 0o700);
      assert.equal(mode(home), 0o700);
    } finally {
      closeListeners(open);
    }
    for (const s of specs) assert.equal(fs.existsSync(s.socket), false, `${s.socket} unlinked on close`);
  } finally {
    cleanup();
  }
});

test('a stale socket at a listener path is removed and bound afresh; a live one is refused', async () => {
  const { home, cleanup } = tmpHome();
  const spec = profileListener(home, 'ci', 'any', {});
  try {
    deadSocket(spec.socket);
    const open = await openListeners([spec], (c) => c.destroy());
    try {
      assert.equal(mode(spec.socket), 0o666);
      await assert.rejects(
        openListeners([spec], (c) => c.destroy()),
        (e: unknown) => e instanceof SesameError && /already listening/.test(e.message),
      );
    } finally {
      closeListeners(open);
    }
  } finally {
    cleanup();
  }
});

test('binding is all or nothing: a regular file at the second path is refused and left alone, and the first socket is unlinked', async () => {
  const { home, cleanup } = tmpHome();
  const owner = ownerListener(homePaths(home, {}));
  const prof = profileListener(home, 'ci', 'same-uid', {});
  try {
    fs.mkdirSync(path.dirname(prof.socket), { mode: 0o700 });
    fs.writeFileSync(prof.socket, 'not a socket', { mode: 0o600 });
    await assert.rejects(
      openListeners([owner, prof], (c) => c.destroy()),
      (e: unknown) => e instanceof SesameError && e.code === 'INSECURE' && /is not a socket/.test(e.message),
    );
    assert.equal(fs.readFileSync(prof.socket, 'utf8'), 'not a socket');
    assert.equal(fs.existsSync(owner.socket), false, 'the owner socket bound first was unlinked');
  } finally {
    cleanup();
  }
});

test('a listener never binds in a directory other users can enter', async () => {
  const { home, cleanup } = tmpHome();
  const spec = profileListener(home, 'ci', 'any', {});
  try {
    fs.mkdirSync(path.dirname(spec.socket), { mode: 0o755 });
    fs.chmodSync(path.dirname(spec.socket), 0o755);
    await assert.rejects(
      openListeners([spec], (c) => c.destroy()),
      (e: unknown) => e instanceof SesameError && e.code === 'INSECURE',
    );
    assert.equal(fs.existsSync(spec.socket), false);
  } finally {
    cleanup();
  }
});

// libuv unlinks a pipe server's bound path by name when the server closes (uv__pipe_close);
// listenPrivate binds under a private temporary name and renames the socket onto its path, so
// that unlink never reaches the path and only unlinkIfOurs (by inode) removes it.
test('closing never unlinks a socket that replaced ours at the path', async () => {
  const { home, cleanup } = tmpHome();
  const spec = ownerListener(homePaths(home, {}));
  try {
    const open = await openListeners([spec], (c) => c.destroy());
    fs.unlinkSync(spec.socket);
    const other = net.createServer();
    await new Promise<void>((r) => other.listen(spec.socket, r));
    try {
      closeListeners(open);
      assert.ok(fs.lstatSync(spec.socket).isSocket(), 'the other socket is still there');
    } finally {
      other.close();
    }
  } finally {
    cleanup();
  }
});

test('a relocated home places profile sockets in the same private runtime directory as its owner socket', () => {
  const home = path.join('/home/u', 'x'.repeat(100));
  const env = { XDG_RUNTIME_DIR: '/run/user/1000' };
  const owner = ownerListener(homePaths(home, env));
  const prof = profileListener(home, 'ci', 'any', env);
  assert.match(owner.socket, /^\/run\/user\/1000\/sesame-[0-9a-f]{16}\/agent\.sock$/);
  assert.equal(prof.socket, path.join(path.dirname(owner.socket), 'sockets', 'ci.sock'));
  assert.equal(prof.runtimeDir, owner.runtimeDir);
  assert.notEqual(homePaths(`${home}y`, env).agentSock, owner.socket, 'another home, another directory');
});

test('only the owner kind makes the client check ownership and the peer uid', () => {
  assert.deepEqual(
    [...CLIENT_TRUST].map(([k, t]) => [k, t.privatePath, t.peerIsMe]),
    [
      ['owner', true, true],
      ['profile', false, false],
      ['cell', false, false],
    ],
  );
});
