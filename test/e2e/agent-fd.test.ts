/**
 * Secrets as file descriptors (issue 13): `getfd` over the native door, both kinds of memory
 * file, the rules of its connection, `run --fd`, and the memory a delivered value leaves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { initHome, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { logOf, sleep, sockOf, startAgent, stopAgent, waitFor } from '../helpers/agent.js';
import { canReadForeignMemory, countInMemory } from '../helpers/procmem.js';
import { getFdFromAgent } from '../../src/core/agent/fd-client.js';
import { closeDescriptor, fdFullySealed, memfdSecret, readMemFd } from '../../src/core/os/native.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const mod = (rel: string): string => pathToFileURL(path.resolve(HERE, rel)).href;

/** Whether this kernel gives memfd_secret (Linux ≥ 5.14 with secretmem on); the reason when not. */
function secretmem(): string | null {
  const fd = memfdSecret(Buffer.from('probe'));
  if (fd === null) return 'this kernel refuses memfd_secret (ENOSYS, or secretmem is off: boot with secretmem.enable=1)';
  closeDescriptor(fd);
  return null;
}
const NO_SECRETMEM = secretmem();

async function home(values: Record<string, string | Buffer>): Promise<TestHome> {
  const h = await initHome();
  for (const [k, v] of Object.entries(values)) await setSecret(h, k, v);
  return h;
}

function readAll(fd: number): Buffer {
  const size = fs.fstatSync(fd).size;
  const out = Buffer.alloc(size);
  readMemFd(fd, size, out);
  return out;
}

test('getfd hands over the value as a memfd_secret descriptor, which read(2) and write(2) both refuse', async (t) => {
  if (NO_SECRETMEM) {
    if (process.env.CI === 'true' && fs.existsSync('/sys/kernel/mm/secretmem')) assert.fail(NO_SECRETMEM);
    t.skip(NO_SECRETMEM);
    return;
  }
  const h = await home({ TLS_KEY: 'kept-out-of-the-direct-map' });
  try {
    await startAgent(h);
    const d = getFdFromAgent(sockOf(h), h.env, 'default', 'TLS_KEY');
    try {
      assert.equal(d.kind, 'secret');
      assert.equal(d.size, 26);
      assert.equal(readAll(d.fd).toString(), 'kept-out-of-the-direct-map');
      assert.throws(() => fs.readSync(d.fd, Buffer.alloc(8), 0, 8, null), /EINVAL/);
      assert.throws(() => fs.writeSync(d.fd, 'x'), /EINVAL|EBADF/);
    } finally {
      closeDescriptor(d.fd);
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('with SESAME_TEST_FD_SEALED=1 the agent falls back to a sealed memory file: read(2) reads it, a write fails', async () => {
  const h = await home({ TLS_KEY: 'sealed-value-123' });
  try {
    await startAgent(h, [], { ...h.env, SESAME_TEST_FD_SEALED: '1' });
    const d = getFdFromAgent(sockOf(h), h.env, 'default', 'TLS_KEY');
    try {
      assert.equal(d.kind, 'sealed');
      assert.ok(fdFullySealed(d.fd));
      const b = Buffer.alloc(64);
      assert.equal(b.subarray(0, fs.readSync(d.fd, b, 0, 64, 0)).toString(), 'sealed-value-123');
      assert.throws(() => fs.writeSync(d.fd, 'x'), /EBADF/); // a read-only descriptor
      // The attacker's route around it: reopen the file for writing. The seal refuses the write.
      const rw = fs.openSync(`/proc/self/fd/${d.fd}`, 'r+');
      try {
        assert.throws(() => fs.writeSync(rw, 'x', 0), /EPERM/);
      } finally {
        fs.closeSync(rw);
      }
    } finally {
      closeDescriptor(d.fd);
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('getfd with kind "sealed" gives a file read(2) can read even where memfd_secret exists', async () => {
  const h = await home({ K: 'x'.repeat(70_000) });
  try {
    await startAgent(h);
    const d = getFdFromAgent(sockOf(h), h.env, 'default', 'K', { kind: 'sealed' });
    try {
      assert.equal(d.kind, 'sealed');
      assert.equal(fs.readFileSync(`/proc/self/fd/${d.fd}`).toString(), 'x'.repeat(70_000));
    } finally {
      closeDescriptor(d.fd);
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('getfd answers a missing key with NOT_FOUND and no descriptor, and logs fetch → deliver → drop at debug level', async () => {
  const h = await home({ A: 'value-a' });
  try {
    await startAgent(h, [], { ...h.env, SESAME_AGENT_DEBUG: '1' });
    assert.throws(
      () => getFdFromAgent(sockOf(h), h.env, 'default', 'NOPE'),
      (e: Error & { code?: string }) => e.code === 'NOT_FOUND',
    );
    const d = getFdFromAgent(sockOf(h), h.env, 'default', 'A');
    closeDescriptor(d.fd);
    await waitFor('the drop line', () => /fd: dropped/.test(logOf(h)));
    const log = logOf(h);
    assert.match(log, /debug: fd: fetched default\/A \(7 bytes\)[\s\S]*debug: fd: delivered default\/A[\s\S]*debug: fd: dropped the agent's descriptor for default\/A/);
    assert.ok(!log.includes('value-a'), 'the value is never logged');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('getfd is refused when it is not alone on its connection (no descriptor is made for a pipelined request)', async () => {
  const h = await home({ A: 'value-a' });
  try {
    await startAgent(h);
    const got = await new Promise<string>((resolve, reject) => {
      const c = net.createConnection(sockOf(h));
      let buf = '';
      c.on('data', (d) => {
        buf += d.toString();
        if (buf.includes('"id":2')) {
          c.destroy();
          resolve(buf);
        }
      });
      c.on('error', reject);
      c.write('{"v":2,"id":1,"op":"status"}\n{"v":2,"id":2,"op":"getfd","project":"default","key":"A"}\n');
    });
    assert.match(got, /"id":2,"frame":"error".*getfd must be the only request on its connection/);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('run --fd gives the child the value on KEY_FD and leaves nothing of it in /proc/self/environ', async () => {
  const h = await home({ TLS_KEY: 'the-fd-value-9876', PLAIN: 'plain-env' });
  const script =
    "const fs=require('fs');const n=+process.env.TLS_KEY_FD;const v=fs.readFileSync('/proc/self/fd/'+n,'utf8');" +
    "const env=fs.readFileSync('/proc/self/environ');let w='ok';try{fs.writeSync(n,'x')}catch(e){w=e.code}" +
    "process.stdout.write(JSON.stringify({n,v,inEnv:env.includes('the-fd-value-9876'),tls:process.env.TLS_KEY??null,plain:process.env.PLAIN,w}))";
  for (const viaAgent of [true, false]) {
    try {
      if (viaAgent) await startAgent(h);
      const env = viaAgent ? { ...h.env, SESAME_PASSPHRASE_FILE: '' } : h.env;
      const r = await sesame(['run', '--fd', 'TLS_KEY', '--', 'node', '-e', script], { env });
      assert.equal(r.code, 0, r.stderr);
      const o = JSON.parse(r.out) as Record<string, unknown>;
      assert.equal(o.v, 'the-fd-value-9876');
      assert.equal(o.inEnv, false);
      assert.equal(o.tls, null);
      assert.equal(o.plain, 'plain-env', '--fd and the ordinary injection combine');
      assert.equal(o.w, 'EBADF', 'the descriptor is read-only');
    } finally {
      if (viaAgent) await stopAgent(h);
    }
    if (viaAgent) {
      // Without --only the agent was asked for the names first: the environment's read never held TLS_KEY.
      const shown = await sesame(['audit', 'show', '--event', 'getselected', '--json'], { env: h.env });
      const recs = JSON.parse(shown.out) as Array<{ keys?: string[] }>;
      assert.deepEqual(recs.at(-1)?.keys, ['PLAIN']);
    }
  }
  h.cleanup();
});

test('run --fd KEY=N puts the descriptor at N, several at once', async () => {
  const h = await home({ A: 'aaa', B: 'bbb' });
  try {
    await startAgent(h);
    const r = await sesame(['run', '--fd', 'A=7', '--fd', 'B=5', '--only', 'A', '--', 'sh', '-c', 'echo "$A_FD $B_FD $(cat <&7) $(cat <&5) ${A:-none}"'], {
      env: { ...h.env, SESAME_PASSPHRASE_FILE: '' },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out.trim(), '7 5 aaa bbb none');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('run --fd refuses stdio numbers and a key given twice; get --fd refuses with a pointer to run --fd', async () => {
  const h = await home({ A: 'aaa' });
  try {
    for (const args of [
      ['run', '--fd', 'A=1', '--', 'true'],
      ['run', '--fd', 'A', '--fd', 'A=4', '--', 'true'],
      ['get', 'A', '--fd'],
    ]) {
      const r = await sesame(args, { env: h.env });
      assert.equal(r.code, 2, r.stderr);
    }
    const r = await sesame(['get', 'A', '--fd'], { env: h.env });
    assert.match(r.stderr, /run --fd/);
  } finally {
    h.cleanup();
  }
});

/** A long-lived client that takes `key` as a descriptor, maps it, and waits for stdin to close. */
async function holder(h: TestHome, key: string, env: NodeJS.ProcessEnv): Promise<{ pid: number; kind: string; done: () => void }> {
  const code = `
    import { getFdFromAgent } from ${JSON.stringify(mod('../../src/core/agent/fd-client.js'))};
    import { mapReadOnly } from ${JSON.stringify(mod('../../src/core/os/native.js'))};
    const d = getFdFromAgent(${JSON.stringify(sockOf(h))}, process.env, 'default', ${JSON.stringify(key)});
    const m = mapReadOnly(d.fd, d.size);
    process.stdout.write(d.kind + '\\n');
    process.stdin.resume();
    process.stdin.on('end', () => { m.unmap(); process.exit(0); });`;
  const c = spawn(process.execPath, ['--input-type=module', '-e', code], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const kind = await new Promise<string>((resolve, reject) => {
    c.stdout.once('data', (d: Buffer) => {
      resolve(d.toString().trim());
    });
    c.once('exit', (code) => {
      reject(new Error(`holder exited ${String(code)}`));
    });
  });
  return { pid: c.pid!, kind, done: () => c.stdin.end() };
}

test("a memfd_secret value is not readable through the agent's or the client's /proc/PID/mem, even mapped (root)", async (t) => {
  if (!canReadForeignMemory()) {
    if (process.env.CI === 'true') assert.fail('the memory scan needs root');
    t.skip('reading another process memory needs root');
    return;
  }
  if (NO_SECRETMEM) {
    if (process.env.CI === 'true' && fs.existsSync('/sys/kernel/mm/secretmem')) assert.fail(NO_SECRETMEM);
    t.skip(NO_SECRETMEM);
    return;
  }
  const value = 'direct-map-free-value-5f3a9c';
  const h = await home({ K: value });
  try {
    await startAgent(h);
    const secret = await holder(h, 'K', h.env);
    await stopAgent(h);
    const sealedAgent = await startAgent(h, [], { ...h.env, SESAME_TEST_FD_SEALED: '1' });
    const sealed = await holder(h, 'K', h.env);
    try {
      assert.equal(secret.kind, 'secret');
      assert.equal(sealed.kind, 'sealed');
      await sleep(2000);
      const needles = [Buffer.from(value), Buffer.from(Buffer.from(value).toString('base64'))];
      // The control: the same scan finds the value in a process that maps the sealed kind.
      assert.ok(countInMemory(sealed.pid, needles).counts[0]! >= 1, 'the scan finds a mapped sealed value');
      assert.deepEqual(countInMemory(secret.pid, needles).counts, [0, 0], 'the client maps it, root cannot read it');
      assert.deepEqual(countInMemory(sealedAgent, needles).counts, [0, 0], 'the agent kept no copy (sealed kind)');
    } finally {
      secret.done();
      sealed.done();
    }
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
