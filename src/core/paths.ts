/**
 * Where sesame keeps its files: the home, every path in it, where its sockets go, and which
 * project a command uses. Pure: takes the environment and flags as inputs. Name rules live
 * in names.ts.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { SesameError } from './errors.js';
import { DEFAULT_PROJECT, checkProjectName, checkKeyName } from './names.js';
import { readRegularFile } from './fs/secure.js';
import { currentDir, findProjectFile } from './project-file.js';

export interface HomePaths {
  home: string;
  vault: string;
  vaultLock: string;
  /** The owner socket: `placeSocket(home, 'agent.sock', env)`, or SESAME_AGENT_SOCK. */
  agentSock: string;
  /**
   * Set when the home's own socket path would not fit in sun_path and sockets moved to this
   * private directory under $XDG_RUNTIME_DIR (see `placeSocket`); absent otherwise.
   */
  runtimeDir?: string;
  agentLock: string;
  agentPid: string;
  agentLog: string;
  config: string;
  projectFile: string;
  state: string;
}

/** The absolute home directory: `flag` (--home), else SESAME_HOME, else ~/.sesame. USAGE when none can be determined. */
export function resolveHome(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const raw = flag ?? env.SESAME_HOME ?? path.join(env.HOME ?? os.homedir(), '.sesame');
  if (!raw) throw new SesameError('USAGE', 'cannot determine the sesame home', { hint: 'pass --home DIR or set SESAME_HOME' });
  return path.resolve(raw);
}

/**
 * Every path sesame uses for `home` (vault, locks, the agent's socket, pid and log, config, state); computes, creates
 * nothing. SESAME_AGENT_SOCK, when set, names the agent socket.
 */
export function homePaths(home: string, env: NodeJS.ProcessEnv = {}): HomePaths {
  const owner = env.SESAME_AGENT_SOCK ? undefined : placeSocket(home, 'agent.sock', env);
  return {
    home,
    vault: path.join(home, 'vault.json'),
    vaultLock: path.join(home, 'vault.lock'),
    agentSock: owner ? owner.path : path.resolve(env.SESAME_AGENT_SOCK ?? ''),
    ...(owner?.relocated ? { runtimeDir: owner.dir } : {}),
    agentLock: path.join(home, 'agent.lock'),
    agentPid: path.join(home, 'agent.pid'),
    agentLog: path.join(home, 'agent.log'),
    config: path.join(home, 'config.toml'),
    projectFile: path.join(home, 'project'),
    state: path.join(home, 'state.json'),
  };
}

/**
 * The longest Unix socket path the kernel takes (sockaddr_un's sun_path minus its NUL):
 * 107 bytes on Linux, 103 on macOS. The same value as protocol.ts's MAX_SOCKET_PATH
 * (which imports this module, so it cannot be imported from there).
 */
export const SOCKET_PATH_MAX = process.platform === 'darwin' ? 103 : 107;

/** Where one socket of a home goes (see `placeSocket`). */
export interface SocketPlace {
  /** The socket's absolute path. */
  readonly path: string;
  /** The directory that must be private (0700, ours) for the socket to be trusted. */
  readonly dir: string;
  /** true when `home/<rel>` was too long and the socket moved under $XDG_RUNTIME_DIR. */
  readonly relocated: boolean;
}

/**
 * THE placement rule for a home's sockets, used by the agent to bind and by every client to
 * connect (so both always agree): `home/<rel>` when that path fits in SOCKET_PATH_MAX bytes;
 * otherwise `$XDG_RUNTIME_DIR/sesame-<16 hex>/<rel>`, the hex a hash of the home's absolute
 * path (one directory per home, the same on every call). `rel` is e.g. `agent.sock` or
 * `sockets/ci.sock`. Pure: reads no file. Whether the runtime directory is usable (exists,
 * ours, 0700) is checked where a socket is bound (socket.ts, `checkRuntimeDir`); without an
 * absolute XDG_RUNTIME_DIR the too-long path is returned unchanged and refused at bind
 * time with a hint. The hash is a name, not a secret: it only keeps homes apart.
 */
export function placeSocket(home: string, rel: string, env: NodeJS.ProcessEnv): SocketPlace {
  const inHome = path.join(home, rel);
  const xdg = env.XDG_RUNTIME_DIR;
  if (Buffer.byteLength(inHome) <= SOCKET_PATH_MAX || !xdg || !path.isAbsolute(xdg)) return { path: inHome, dir: path.dirname(inHome), relocated: false };
  const base = path.join(path.resolve(xdg), `sesame-${homeTag(home)}`);
  const p = path.join(base, rel);
  return { path: p, dir: path.dirname(p), relocated: true };
}

/** 16 hex digits naming a home: two 32-bit FNV-1a hashes of its path (no crypto module on the fast path). */
function homeTag(home: string): string {
  const bytes = Buffer.from(path.resolve(home));
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (const c of bytes) {
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

/** Where the current project came from; `file`, `only` and `prefix` are set for 'directory' (a .sesame.toml). */
export interface ResolvedProject {
  name: string;
  source: 'flag' | 'env' | 'directory' | 'file' | 'default';
  file?: string;
  only?: string[];
  prefix?: string;
}

/**
 * The current project: flag, then SESAME_PROJECT, then the nearest `.sesame.toml` above `cwd`
 * (project-file.ts: walk and trust rules), then `projects use`, then "default".
 */
export function resolveProject(flag: string | undefined, env: NodeJS.ProcessEnv, paths: HomePaths, cwd: string | undefined = currentDir()): ResolvedProject {
  if (flag !== undefined) return { name: checkProjectName(flag), source: 'flag' };
  if (env.SESAME_PROJECT) return { name: checkProjectName(env.SESAME_PROJECT), source: 'env' };
  const dir = cwd === undefined ? null : findProjectFile(cwd, env.HOME ?? os.homedir());
  if (dir)
    return {
      name: checkProjectName(dir.project),
      source: 'directory',
      file: dir.file,
      ...(dir.only ? { only: dir.only.map(checkKeyName) } : {}),
      ...(dir.prefix !== undefined ? { prefix: dir.prefix } : {}),
    };
  let s = '';
  try {
    // Through the secure-file door: a FIFO or device here is refused, never read (or waited on).
    s = readRegularFile(paths.projectFile, 'current-project file', { maxBytes: 4096, followSymlinks: false }).toString('utf8').trim();
  } catch (e) {
    if (!(e instanceof SesameError && e.code === 'NOT_FOUND')) throw e;
  }
  if (s) return { name: checkProjectName(s), source: 'file' };
  return { name: DEFAULT_PROJECT, source: 'default' };
}
