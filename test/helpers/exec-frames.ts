/**
 * Helpers for the exec tests: a home with secrets and profiles, and a raw v2 connection that
 * sends an exec (plus control requests) and collects its frames until the final one.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { initHome, setSecret, type TestHome } from './cli.js';

export type Frame = Record<string, unknown>;

/** A home with project default holding `secrets`, and these profiles (name → TOML). */
export async function execHome(prefix: string, secrets: Record<string, string>, profiles: Record<string, string> = {}): Promise<TestHome> {
  const h = await initHome(prefix);
  for (const [k, v] of Object.entries(secrets)) await setSecret(h, k, v);
  writeProfiles(h, profiles);
  return h;
}

/** Writes profile files into the home (0700 dir, 0600 files). */
export function writeProfiles(h: TestHome, profiles: Record<string, string>): void {
  if (!Object.keys(profiles).length) return;
  const dir = path.join(h.dir, 'profiles');
  fs.mkdirSync(dir, { mode: 0o700, recursive: true });
  for (const [name, text] of Object.entries(profiles)) fs.writeFileSync(path.join(dir, `${name}.toml`), text, { mode: 0o600 });
}

export const profileSock = (h: TestHome, name: string): string => path.join(h.dir, 'sockets', `${name}.sock`);
export const ownerSock = (h: TestHome): string => path.join(h.dir, 'agent.sock');

/** An open v2 connection with frame collection. */
export interface Conn {
  readonly sock: net.Socket;
  /** Every frame received, in order. */
  readonly frames: Frame[];
  send(req: Frame): void;
  /** Resolves with the frames of request `id` once its final frame came (or rejects after `ms`). */
  final(id: number | string, ms?: number): Promise<Frame[]>;
  /** Resolves once `pred` holds for the frames received so far. */
  until(pred: (frames: Frame[]) => boolean, ms?: number): Promise<void>;
  /** The decoded output of request `id`'s chunks (one stream or both, in order). */
  output(id: number | string, stream?: string): Buffer;
  close(): void;
}

/** Connects to `sock`. */
export function connect(sock: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ path: sock });
    const frames: Frame[] = [];
    const waiters = new Set<() => void>();
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        frames.push(JSON.parse(buf.slice(0, i)) as Frame);
        buf = buf.slice(i + 1);
      }
      for (const w of [...waiters]) w();
    });
    s.on('error', () => {});
    s.on('close', () => {
      for (const w of [...waiters]) w();
    });
    const until = (pred: (f: Frame[]) => boolean, ms = 15_000): Promise<void> =>
      new Promise((res, rej) => {
        const check = (): void => {
          if (pred(frames)) {
            clearTimeout(t);
            waiters.delete(check);
            res();
          } else if (s.destroyed) {
            clearTimeout(t);
            waiters.delete(check);
            rej(new Error(`connection closed; frames: ${JSON.stringify(frames).slice(0, 2000)}`));
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          rej(new Error(`timed out; frames: ${JSON.stringify(frames).slice(0, 2000)}`));
        }, ms);
        waiters.add(check);
        check();
      });
    const conn: Conn = {
      sock: s,
      frames,
      send: (req) => s.write(`${JSON.stringify({ v: 2, ...req })}\n`),
      final: async (id, ms) => {
        await until((f) => f.some((x) => x.id === id && ['exit', 'error', 'ok'].includes(x.frame as string)), ms);
        return frames.filter((x) => x.id === id);
      },
      until,
      output: (id, stream) =>
        Buffer.concat(frames.filter((f) => f.id === id && f.frame === 'chunk' && (stream === undefined || f.stream === stream)).map((f) => Buffer.from(f.data as string, 'base64'))),
      close: () => s.destroy(),
    };
    s.once('connect', () => {
      resolve(conn);
    });
    s.once('error', reject);
  });
}

/** One request on a fresh connection: its frames up to the final one. */
export async function once(sock: string, req: Frame, ms?: number): Promise<{ frames: Frame[]; last: Frame; out: Buffer; err: Buffer }> {
  const c = await connect(sock);
  try {
    c.send(req);
    const frames = await c.final(req.id as number, ms);
    return { frames, last: frames[frames.length - 1]!, out: c.output(req.id as number, 'stdout'), err: c.output(req.id as number, 'stderr') };
  } finally {
    c.close();
  }
}

/** True while `pid` is a live process (a zombie counts as gone). */
export function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Every encoding of `v` a leak could take that the tests look for: raw, base64 (std/url), hex (lower/upper). */
export function encodings(v: string): string[] {
  const b = Buffer.from(v);
  return [v, b.toString('base64').replace(/=+$/, ''), b.toString('base64url'), b.toString('hex'), b.toString('hex').toUpperCase()];
}
