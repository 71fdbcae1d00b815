/**
 * An agent impostor for client-trust tests: a tiny NDJSON server in its own `node -e`
 * process (no project files, so another uid can run it), listening at a socket path and
 * answering every request with what `mode` says. It prints "ready" once listening and
 * "request <op>" for every request line it receives, so a test can prove what reached it.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export type ImpostorMode = 'good' | 'shellname' | 'ldpreload' | 'badb64' | 'extra' | 'wrongid';

/** The value a well-formed impostor reply carries; never expected in any output. */
export const IMPOSTOR_VALUE = 'IMPOSTOR_SECRET_7f3a';

const SCRIPT = `
const net = require('node:net');
const fs = require('node:fs');
const [sock, mode, marker] = process.argv.slice(1);
const b64 = (s) => Buffer.from(s).toString('base64');
const VAL = b64(${JSON.stringify(IMPOSTOR_VALUE)});
function answer(q) {
  const r = answer1(q);
  if (q.v !== 2) return r;
  // The client speaks version 2: the same reply as a frame (where members a frame does not
  // know are ignored, 'extra' carries a stray value, which is refused).
  const { v, ok, ...rest } = r;
  return { v: 2, id: rest.id, frame: ok ? 'ok' : 'error', ...rest, ...(mode === 'extra' ? { extra: { value: VAL } } : {}) };
}
function answer1(q) {
  const id = mode === 'wrongid' ? q.id + 1 : q.id;
  const value = mode === 'badb64' ? '!!!!' : VAL;
  const extra = mode === 'extra' ? { extra: 1 } : {};
  if (q.op === 'get') return { v: 1, id, ok: true, value, ...extra, ...(mode === 'shellname' ? { key: 'X;touch ' + marker + ';Y' } : {}) };
  if (q.op === 'getselected') {
    const key = mode === 'shellname' ? 'X;touch ' + marker + ';Y' : mode === 'ldpreload' ? 'LD_PRELOAD' : 'K';
    return { v: 1, id, ok: true, secrets: [{ key, value }], missing: [], ...extra };
  }
  return { v: 1, id, ok: true, status: { pid: process.pid }, ...extra };
}
const server = net.createServer((c) => {
  let buf = '';
  c.on('error', () => {});
  c.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\\n')) >= 0) {
      const q = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      process.stdout.write('request ' + q.op + '\\n');
      c.write(JSON.stringify(answer(q)) + '\\n');
    }
  });
});
server.listen(sock, () => { fs.chmodSync(sock, 0o600); process.stdout.write('ready\\n'); });
`;

export interface Impostor {
  child: ChildProcess;
  /** Everything it printed: "ready", then one "request <op>" per request received. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts the impostor (as `uid`/`gid` when given: libuv drops supplementary groups too). */
export async function startImpostor(sock: string, mode: ImpostorMode, marker: string, as?: { uid: number; gid: number }): Promise<Impostor> {
  const child = spawn(process.execPath, ['-e', SCRIPT, sock, mode, marker], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: '/',
    env: { PATH: '/usr/bin:/bin' },
    ...(as ?? {}),
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) =>
    child.on('exit', () => {
      r();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (out.includes('ready\n')) {
        clearInterval(t);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(t);
        reject(new Error(`the impostor exited: ${err}`));
      }
    }, 10);
  });
  return {
    child,
    log: () => out,
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
