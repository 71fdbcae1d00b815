/**
 * The heart of `sesame run`, shared by the command and the agent fast path: resolve the
 * command, read the selected secrets, build the child's environment, and replace this
 * process with the command (execve). Returns only when the command cannot run.
 *
 * Two more ways, chosen here:
 * - through the agent's `exec` (run-remote.ts): when the agent refuses to reveal values
 *   (a profile socket with `reveal = false`), or with `--mask` when an agent answers;
 * - `--mask` without an agent: this process spawns the command itself through the native
 *   door (posix_spawn, the environment in Buffers) and masks its output with the same
 *   redactor as the agent (core/agent/exec/child.ts); its copies of the values are wiped
 *   right after the spawn, except those the redactor needs until the command ends.
 */
import type { Parsed } from './args.js';
import { SesameError } from '../core/errors.js';
import { info, json } from './output.js';
import type { SecretReader } from './reader.js';
import { execSelection, readSelection, requireCarried } from './select.js';
import type { HomePaths } from '../core/paths.js';
import { childEnv, resolveCommand } from '../core/exec.js';
import { finishRun, isRevealDenied, runRemote } from './run-remote.js';
import { fetchFds, placeFds, type FdSpec } from './run-fds.js';

/** `run --fd`: the descriptors to hand the command, and where the agent listens. */
export interface RunFds {
  specs: readonly FdSpec[];
  sock: string;
}

/** 127 when CMD is not found, 126 when it cannot be executed; otherwise never returns (or, through exec or --mask, returns the command's status). */
export async function execWithSecrets(
  open: () => Promise<SecretReader>,
  project: string,
  flags: Parsed['flags'],
  argv: string[],
  env: NodeJS.ProcessEnv,
  paths?: HomePaths,
  withFds?: RunFds,
): Promise<number> {
  const file = argv[0]!;
  const found = resolveCommand(file, env.PATH);
  // A profile socket may run a command this side does not have: the agent resolves it.
  if ('error' in found && !env.SESAME_AGENT_SOCK) return notFound(file, found.error, flags.json === true);
  const names = flags.exclude !== undefined && paths ? await (await import('./key-names.js')).projectKeyNames(paths, project) : undefined;
  const reader = await open();
  // Through exec, --only/--prefix/--exclude/--strict are decided here as for a local run (select.ts execSelection).
  const remote = async (client: NonNullable<SecretReader['client']>): Promise<number> => {
    let sel;
    try {
      sel = await execSelection(project, flags, () => visibleNames(reader, project, flags, names, paths));
    } catch (e) {
      reader.close();
      throw e;
    }
    return runRemote(client, project, sel, argv);
  };
  if (flags.mask && reader.client) return remote(reader.client);
  let childVars: Buffer[];
  let secrets: Array<[string, Buffer]> = [];
  let fds: number[] = [];
  const specs = withFds?.specs ?? [];
  const closeFds = async (): Promise<void> => {
    if (!fds.length) return;
    const { closeDescriptor } = await import('../core/os/native.js');
    for (const f of fds) closeDescriptor(f);
    fds = [];
  };
  try {
    if (specs.length) fds = await fetchFds(reader, withFds!.sock, env, project, specs);
    try {
      // With --fd and without --only, ask the agent for the names first so that the --fd keys'
      // values are never read into this process (the direct path holds the whole vault anyway).
      if (specs.length && flags.only === undefined && reader.names) {
        const viaFd = new Set(specs.map((s) => s.key));
        const listed = await listedNames(reader, project, typeof flags.prefix === 'string' ? flags.prefix : undefined); // null: read the selection as usual
        const rest = listed?.filter((k) => !viaFd.has(k));
        secrets = rest === undefined ? await readSelection(reader, project, flags, names) : rest.length ? await readSelection(reader, project, { ...flags, only: rest.join(',') }, names) : [];
      } else secrets = await readSelection(reader, project, flags, names);
    } catch (e) {
      if (reader.client && !specs.length && isRevealDenied(e)) return await remote(reader.client);
      throw e;
    }
    if ('error' in found) {
      for (const [, v] of secrets) v.fill(0);
      await closeFds();
      return notFound(file, found.error, flags.json === true);
    }
    requireCarried(secrets, 'an environment variable', (k, v) => childEnv({}, [[k, v]]));
    try {
      // A key handed over as a descriptor never also goes into the environment.
      const viaFd = new Set(specs.map((s) => s.key));
      childVars = childEnv(
        env,
        secrets.filter(([k]) => !viaFd.has(k)),
      );
    } finally {
      if (!flags.mask) for (const [, v] of secrets) v.fill(0);
    }
  } catch (e) {
    if (flags.mask) for (const [, v] of secrets) v.fill(0); // kept for the redactor, not needed now
    await closeFds();
    throw e;
  } finally {
    if (!reader.client || !flags.mask) reader.close();
  }
  if (flags.mask) return runMasked(found.path, argv, childVars, secrets);
  const { execve, makeInheritableBlocking } = await import('../core/os/native.js');
  if (specs.length) {
    const vars = await placeFds(specs, fds);
    const heads = vars.map((v) => Buffer.from(v.slice(0, v.indexOf('=') + 1), 'utf8'));
    childVars = childVars.filter((b) => !heads.some((h) => b.subarray(0, h.length).equals(h)));
    childVars.push(...vars.map((v) => Buffer.from(v, 'utf8')));
  }
  for (const fd of [0, 1, 2]) makeInheritableBlocking(fd);
  const errno = execve(found.path, argv, childVars);
  for (const b of childVars) b.fill(0);
  return cannotRun(errno === 13 ? 126 : 127, `cannot execute ${file} (errno ${errno})`, 'check that it is a program for this machine, and its permissions (ls -l)', flags.json === true);
}

/**
 * The key names (starting with --prefix) the caller may see, for a run through exec: the
 * agent's `list`, else the vault's public metadata when this process can read it; null when
 * neither can be had (a token without `list`, and no readable vault file).
 */
async function visibleNames(reader: SecretReader, project: string, flags: Parsed['flags'], names: readonly string[] | undefined, paths: HomePaths | undefined): Promise<string[] | null> {
  const prefix = typeof flags.prefix === 'string' ? flags.prefix : undefined;
  const listed = await listedNames(reader, project, prefix);
  if (listed) return listed;
  const all = names ?? (paths ? await (await import('./key-names.js')).projectKeyNames(paths, project) : undefined);
  return all ? all.filter((k) => prefix === undefined || k.startsWith(prefix)) : null;
}

/** The agent's `list` of the names starting with `prefix`; null when the reader has no `list` or a token does not allow it (DENIED). */
async function listedNames(reader: SecretReader, project: string, prefix: string | undefined): Promise<string[] | null> {
  if (!reader.names) return null;
  return reader.names(project, prefix).catch((e: unknown) => {
    if (e instanceof SesameError && e.code === 'DENIED') return null;
    throw e;
  });
}

/** A command not found (127) or not executable (126), reported. */
function notFound(file: string, why: 'not-found' | 'not-executable', asJson: boolean): number {
  const nf = why === 'not-found';
  return cannotRun(
    nf ? 127 : 126,
    `${nf ? 'command not found' : 'not executable (a directory, or no execute permission)'}: ${file}`,
    nf ? 'check the name and PATH, or give the path to the program' : 'name a program file with execute permission (ls -l)',
    asJson,
  );
}

/** Reports a command that cannot run, as a line on stderr or (--json) an error object on stdout; returns `code` (126/127). */
function cannotRun(code: number, message: string, hint: string, asJson: boolean): number {
  if (asJson) json({ error: code === 127 ? 'not_found' : 'not_executable', code: code === 127 ? 'NOT_FOUND' : 'ERROR', message, hint, exit_code: code });
  else {
    info(`error: ${message}`);
    info(`hint: ${hint}`);
  }
  return code;
}

/**
 * `run --mask` without an agent: spawn, mask, wait. The env Buffers are wiped right after
 * the spawn; the values once the command (and what is left of its process group) ended.
 */
async function runMasked(path: string, argv: string[], childVars: Buffer[], secrets: Array<[string, Buffer]>): Promise<number> {
  const { ExecChild } = await import('../core/agent/exec/child.js');
  const { getWinSize } = await import('../core/os/native.js');
  const term = process.stdin.isTTY && process.stdout.isTTY ? getWinSize(1) : null;
  let child: InstanceType<typeof ExecChild>;
  try {
    child = new ExecChild(
      { path, argv, env: childVars, cwd: process.cwd(), stdin: true, ...(term ? { pty: term } : {}), needles: secrets.map(([name, value]) => ({ name, value })), timeoutMs: 2 ** 31 - 1 },
      {
        write: (s, data) => {
          (s === 'stdout' ? process.stdout : process.stderr).write(Buffer.from(data));
          data.fill(0);
        },
        blocked: () => process.stdout.writableNeedDrain,
        onRoom: (fn) => {
          process.stdout.once('drain', fn);
        },
      },
    );
  } catch (e) {
    for (const [, v] of secrets) v.fill(0);
    throw e;
  } finally {
    for (const b of childVars) b.fill(0);
  }
  const fwd = (sig: NodeJS.Signals): void => {
    child.signal(sig);
  };
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
  for (const s of sigs) process.on(s, fwd);
  const winch = (): void => {
    const ws = getWinSize(1);
    if (ws) child.resize(ws.rows, ws.cols);
  };
  if (term) {
    process.stdout.on('resize', winch);
    process.stdin.setRawMode(true);
  }
  const onData = (b: Buffer): void => {
    child.input(b);
  };
  const onEnd = (): void => {
    child.eof();
  };
  process.stdin.on('data', onData);
  process.stdin.on('end', onEnd);
  const r = await child.done;
  for (const [, v] of secrets) v.fill(0);
  for (const s of sigs) process.off(s, fwd);
  process.stdin.off('data', onData);
  process.stdin.off('end', onEnd);
  if (term) {
    process.stdout.off('resize', winch);
    process.stdin.setRawMode(false);
  }
  process.stdin.pause();
  return finishRun(r);
}
