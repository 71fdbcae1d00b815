/**
 * Where sesame keeps its files, and the rules for names. Pure: takes the environment and
 * flags as inputs.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { SesameError } from './errors.js';
import { readRegularFile } from './fs/secure.js';
import { currentDir, findProjectFile } from './project-file.js';

export interface HomePaths {
  home: string;
  vault: string;
  vaultLock: string;
  agentSock: string;
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
 * nothing, never throws. SESAME_AGENT_SOCK, when set, names the agent socket.
 */
export function homePaths(home: string, env: NodeJS.ProcessEnv = {}): HomePaths {
  return {
    home,
    vault: path.join(home, 'vault.json'),
    vaultLock: path.join(home, 'vault.lock'),
    agentSock: env.SESAME_AGENT_SOCK ? path.resolve(env.SESAME_AGENT_SOCK) : path.join(home, 'agent.sock'),
    agentLock: path.join(home, 'agent.lock'),
    agentPid: path.join(home, 'agent.pid'),
    agentLog: path.join(home, 'agent.log'),
    config: path.join(home, 'config.toml'),
    projectFile: path.join(home, 'project'),
    state: path.join(home, 'state.json'),
  };
}

/** The key-name rule in words, for messages (KEY_RE below is the rule itself). */
export const KEY_NAME_RULE = 'a key name must match [A-Za-z_][A-Za-z0-9_]* and be at most 256 characters';
const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;

/** true when `name` is a valid key name (an environment-variable name sesame accepts). Never throws. */
export function isValidKeyName(name: string): boolean {
  return KEY_RE.test(name);
}

/** Returns `name` when it is a valid key name; INVALID otherwise (the name shown cut to 64 characters). */
export function checkKeyName(name: string): string {
  if (!isValidKeyName(name)) {
    const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
    throw new SesameError('INVALID', `invalid key name ${JSON.stringify(shown)}: ${KEY_NAME_RULE}`, {
      hint: 'use letters, digits and underscores, not starting with a digit (e.g. DATABASE_URL)',
    });
  }
  return name;
}

/** The project-name rule in words, for messages (PROJECT_RE below is the rule itself). */
export const PROJECT_NAME_RULE = 'a project name must match [A-Za-z0-9][A-Za-z0-9_.-]* and be at most 64 characters';
const PROJECT_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** true when `name` is a valid project name. Never throws. */
export function isValidProjectName(name: string): boolean {
  return PROJECT_RE.test(name);
}

/** Returns `name` when it is a valid project name; INVALID otherwise. */
export function checkProjectName(name: string): string {
  if (!PROJECT_RE.test(name)) {
    throw new SesameError('INVALID', `invalid project name ${JSON.stringify(name.slice(0, 64))}: ${PROJECT_NAME_RULE}`);
  }
  return name;
}

/** The project every command uses when none is named: it always exists and cannot be deleted. */
export const DEFAULT_PROJECT = 'default';

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
  if (dir) return { name: checkProjectName(dir.project), source: 'directory', file: dir.file, ...(dir.only ? { only: dir.only.map(checkKeyName) } : {}), ...(dir.prefix !== undefined ? { prefix: dir.prefix } : {}) };
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
