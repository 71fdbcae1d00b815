/**
 * Helpers for agent tests: start a real agent through the built CLI, talk raw protocol to
 * its socket, wait for things to happen (polling, never fixed long sleeps).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import { BIN, sesame, type TestHome } from './cli.js';
import { stagedBin } from './stage.js';

export const sockOf = (h: TestHome): string => path.join(h.dir, 'agent.sock');
export const agentFiles = (h: TestHome): string[] => ['agent.sock', 'agent.pid', 'agent.lock'].map((f) => path.join(h.dir, f));
export const logOf = (h: TestHome): string => {
  try {
    return fs.readFileSync(path.join(h.dir, 'agent.log'), 'utf8');
  } catch {
    return '';
  }
};

/** `agent start --background` with extra flags; returns the agent's pid. */
export async function startAgent(h: TestHome, flags: string[] = [], env: NodeJS.ProcessEnv = h.env): Promise<number> {
  const r = await sesame(['agent', 'start', '--background', '--json', ...flags], { env });
  assert.equal(r.code, 0, `agent start failed: ${r.stderr}`);
  return (JSON.parse(r.out) as { pid: number }).pid;
}

export async function stopAgent(h: TestHome): Promise<void> {
  await sesame(['agent', 'stop'], { env: h.env });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 20 ms until true; fails after `ms`. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 5000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - t0;
    if (Date.now() - t0 > ms) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

export const gone = (files: string[]): boolean => files.every((f) => !fs.existsSync(f));
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export type Reply = Record<string, unknown>;

/**
 * Connects to `sock`, writes `chunks` in order (`gapMs` apart, default 5), and collects up to `want`
 * reply lines or until the agent closes. Resolves with the parsed lines.
 */
export function exchange(sock: string, chunks: Array<string | Buffer>, want: number, opts: { timeoutMs?: number; gapMs?: number } = {}): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection({ path: sock });
    const got: Reply[] = [];
    let buf = '';
    const t = setTimeout(() => {
      finish();
    }, opts.timeoutMs ?? 5000);
    const finish = (): void => {
      clearTimeout(t);
      c.destroy();
      resolve(got);
    };
    c.on('connect', () => {
      void (async () => {
        for (const ch of chunks) {
          if (c.destroyed) return;
          c.write(ch);
          await sleep(opts.gapMs ?? 5);
        }
      })();
    });
    c.on('data', (d) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        got.push(JSON.parse(buf.slice(0, nl)) as Reply);
        buf = buf.slice(nl + 1);
      }
      if (got.length >= want) finish();
    });
    c.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') reject(e);
    });
    c.on('close', () => {
      finish();
    });
  });
}

/** One request line, one reply. */
export async function ask(sock: string, request: Record<string, unknown>): Promise<Reply> {
  const [r] = await exchange(sock, [`${JSON.stringify(request)}\n`], 1);
  assert.ok(r, `no reply to ${JSON.stringify(request)}`);
  return r;
}

export interface Foreground {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `agent start` in the foreground (optionally with node flags), ready once its socket answers. */
export async function startForeground(h: TestHome, flags: string[], nodeArgs: string[] = []): Promise<Foreground> {
  const so: SpawnOptions = { env: h.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] };
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'agent', 'start', ...flags], so);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
    }),
  );
  await waitFor('the foreground agent to listen', async () => (await ask(sockOf(h), { v: 1, op: 'status' }).catch(() => null))?.ok === true || child.exitCode !== null);
  return { child, stderr: () => err, exited };
}

/** Runs the built CLI as another user (tests run as root to use this), from a copy that user can read (stage.ts). */
export function sesameAs(uid: number, gid: number, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [stagedBin(), ...args], { env, uid, gid, detached: true, stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, out, stderr: err });
    });
  });
}

/** chown -R for a test directory tree. */
export function chownTree(p: string, uid: number, gid: number): void {
  fs.chownSync(p, uid, gid);
  if (fs.lstatSync(p).isDirectory()) for (const n of fs.readdirSync(p)) chownTree(path.join(p, n), uid, gid);
}
