/**
 * The agent's listening socket: path rules, stale-socket handling, and a bind that is
 * private from birth.
 *
 * - The path must fit in sockaddr_un (107 bytes on Linux, 103 on macOS) — else an error
 *   that says how to shorten it — and lie in a private (0700, ours) directory.
 * - Something that is not a socket at the path is refused and left alone; a socket there
 *   is probed: live means "already running", dead (ECONNREFUSED) is removed.
 * - listen() runs under the umask of the socket's mode (0177 for 0600), so the mode holds the
 *   instant it exists (no listen-then-chmod race); after bind it is lstat'ed and must be a
 *   socket, ours, that mode, and only then renamed onto its path (so libuv's unlink at
 *   close can never hit the path).
 * - A socket relocated under $XDG_RUNTIME_DIR (paths.ts `placeSocket`, when the home's path
 *   is too long) needs that runtime directory to exist and be ours and 0700 first; it is
 *   never created, so a missing or shared one is refused with what to do instead.
 * - listen() may also make a socket other uids can connect to (mode 0666, for profile and
 *   cell sockets, listeners.ts); its directory is private all the same.
 *
 * Call `prepareSocketPath` only while holding the agent lock, so no other agent of this
 * home can be binding at the same time.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { SesameError } from '../errors.js';
import { ensurePrivateDir, isSharedDir } from '../fs/secure.js';
import { MAX_SOCKET_PATH } from './protocol.js';

/** What a socket's checks need beyond its path. */
export interface SocketRules {
  /** Set when the socket was relocated: the $XDG_RUNTIME_DIR/sesame-… directory (paths.ts). */
  runtimeDir?: string;
  /** The socket's mode: 0o600 (default, owner only) or 0o666 (profile/cell sockets whose peer rule admits other uids). */
  mode?: 0o600 | 0o666;
}

const uid = (): number => (typeof process.getuid === 'function' ? process.getuid() : -1);

/**
 * What to do when the agent socket's directory is not private to us — the one hint the agent
 * and the client give. For a shared directory (/tmp, /dev/shm: sticky or world-writable, or
 * a system directory) it never suggests chmod or chown; it suggests a private subdirectory
 * and pointing SESAME_AGENT_SOCK inside it.
 */
export function socketDirHint(sock: string): string {
  const dir = path.dirname(path.resolve(sock));
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch {
    st = undefined;
  }
  const me = uid();
  const sub = isSharedDir(dir, st) ? path.join(dir, `sesame-${me}`) : undefined;
  if (sub) {
    return `${dir} is shared with other users: never chmod it; make a private directory there and put the socket inside it: mkdir -m 700 '${sub}' && export SESAME_AGENT_SOCK='${path.join(sub, path.basename(sock))}'`;
  }
  return `make ${dir} private to you (chmod 700 '${dir}', if nothing else needs it), or point SESAME_AGENT_SOCK at a socket in a 0700 directory you own (e.g. $XDG_RUNTIME_DIR/sesame/agent.sock)`;
}

/**
 * Throws INSECURE unless `runtimeDir`'s parent ($XDG_RUNTIME_DIR) is an existing directory
 * of ours that no one else can enter (mode & 077 = 0). Never creates it.
 */
function checkRuntimeDir(runtimeDir: string): void {
  const xdg = path.dirname(runtimeDir);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(xdg);
  } catch {
    st = undefined;
  }
  const me = uid();
  if (!st?.isDirectory() || (me >= 0 && st.uid !== me) || (st.mode & 0o077) !== 0) {
    const what = st === undefined ? 'does not exist' : !st.isDirectory() ? 'is not a directory' : `is not private to you (uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`;
    throw new SesameError('INSECURE', `the home's socket path is too long for a Unix socket, and XDG_RUNTIME_DIR (${xdg}) ${what}, so the socket cannot be placed there`, {
      hint: 'use a shorter --home, or set XDG_RUNTIME_DIR to a 0700 directory you own (your login session usually provides /run/user/UID), or set SESAME_AGENT_SOCK to a socket path in a 0700 directory you own',
    });
  }
}

/** Throws when the path cannot be a Unix socket address or sits in an unsafe directory. */
export function checkSocketPath(sock: string, rules: SocketRules = {}): void {
  const n = Buffer.byteLength(sock);
  if (n > MAX_SOCKET_PATH) {
    throw new SesameError('INVALID', `the agent socket path is ${n} bytes long; Unix sockets allow at most ${MAX_SOCKET_PATH}: ${sock}`, {
      hint: 'set SESAME_AGENT_SOCK to a shorter path in a private directory, or use a shorter --home, or set XDG_RUNTIME_DIR to a 0700 directory you own (a home socket that is too long then goes there)',
    });
  }
  if (rules.runtimeDir !== undefined) checkRuntimeDir(rules.runtimeDir);
  try {
    ensurePrivateDir(path.dirname(sock), { create: true, what: 'agent socket directory' });
  } catch (e) {
    if (!(e instanceof SesameError) || e.code !== 'INSECURE') throw e;
    throw new SesameError('INSECURE', e.message, { hint: socketDirHint(sock), ...(e.detail ? { detail: e.detail } : {}), cause: e });
  }
  let st: fs.Stats;
  try {
    st = fs.lstatSync(sock);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket()) {
    throw new SesameError('INSECURE', `${sock} exists and is not a socket; refusing to replace it`, {
      hint: 'move that file away, or set SESAME_AGENT_SOCK to another path',
    });
  }
}

/** Resolves true when something accepts connections at `sock`. */
export function probeSocket(sock: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.createConnection({ path: sock });
    const done = (live: boolean): void => {
      clearTimeout(t);
      c.destroy();
      resolve(live);
    };
    const t = setTimeout(() => {
      done(true);
    }, timeoutMs); // a full backlog is still a live agent
    c.once('connect', () => {
      done(true);
    });
    c.once('error', (e: NodeJS.ErrnoException) => {
      done(e.code === 'EAGAIN');
    });
  });
}

/** Checks the path, then removes a dead socket; throws if a live one answers. */
export async function prepareSocketPath(sock: string, rules: SocketRules = {}): Promise<void> {
  checkSocketPath(sock, rules);
  if (!fs.existsSync(sock)) return;
  if (await probeSocket(sock)) {
    throw new SesameError('ERROR', `an agent is already listening on ${sock}`, { remedy: 'agent_socket_taken' });
  }
  checkSocketPath(sock, rules); // still a socket, not swapped for something else
  fs.unlinkSync(sock);
}

export interface Listening {
  server: net.Server;
  /** Inode of the socket we bound: unlink only if the path still names it. */
  ino: number;
}

/**
 * Binds and listens with a socket of `rules.mode` (default 0600) from birth (umask), then
 * verifies it: a socket, ours, exactly that mode. Throws INSECURE (nothing served) if not.
 *
 * The socket is bound under a short random name in the same private directory and then
 * renamed onto `sock`. libuv unlinks a pipe server's *bound* path by name when it closes,
 * whatever that path names by then; binding under a name nobody else uses means that unlink
 * hits nothing, and the only removal of `sock` is ours (`unlinkIfOurs`, by inode), so a
 * socket that replaced ours at the path is never deleted by our shutdown.
 */
export async function listenPrivate(sock: string, onConnection: (c: net.Socket) => void, rules: SocketRules = {}): Promise<Listening> {
  const mode = rules.mode ?? 0o600;
  // Never longer than the final name (the shortest socket name is "a.sock"), so it fits too.
  const bound = path.join(path.dirname(sock), `.${randomBytes(3).toString('hex').slice(0, 5)}`);
  const server = net.createServer({ allowHalfOpen: false, pauseOnConnect: false }, onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const old = process.umask(0o777 & ~mode);
    try {
      server.listen({ path: bound, backlog: 511 }, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(old);
    }
  });
  const st = fs.lstatSync(bound);
  const me = uid();
  if (!st.isSocket() || (me >= 0 && st.uid !== me) || (st.mode & 0o777) !== mode) {
    server.close();
    throw new SesameError('INSECURE', `the agent socket ${sock} is not a private socket after bind (mode ${(st.mode & 0o777).toString(8)}, uid ${st.uid})`, {
      hint: 'check the directory for interference; nothing was served',
    });
  }
  try {
    fs.renameSync(bound, sock);
  } catch (e) {
    server.close();
    throw e;
  }
  return { server, ino: st.ino };
}

/** true while the path still names the socket we bound (false once removed or replaced). */
export function stillOurs(sock: string, ino: number): boolean {
  try {
    return fs.lstatSync(sock).ino === ino;
  } catch {
    return false;
  }
}

/** Unlinks the socket if the path still names the one we bound. Never throws. */
export function unlinkIfOurs(sock: string, ino: number): void {
  try {
    if (fs.lstatSync(sock).ino === ino) fs.unlinkSync(sock);
  } catch {
    /* already gone */
  }
}
