/**
 * The heart of `sesame run`, shared by the command and the agent fast path: resolve the
 * command, read the selected secrets, build the child's environment, and replace this
 * process with the command (execve). Returns only when the command cannot run.
 */
import type { Parsed } from './args.js';
import { SesameError } from '../core/errors.js';
import { info } from './output.js';
import type { SecretReader } from './reader.js';
import { readSelection } from './select.js';
import { childEnv, resolveCommand } from '../core/exec.js';
import { fetchFds, placeFds, type FdSpec } from './run-fds.js';

/** `run --fd`: the descriptors to hand the command, and where the agent listens. */
export interface RunFds {
  specs: readonly FdSpec[];
  sock: string;
}

/** 127 when CMD is not found, 126 when it cannot be executed; otherwise never returns. */
export async function execWithSecrets(open: () => Promise<SecretReader>, project: string, flags: Parsed['flags'], argv: string[], env: NodeJS.ProcessEnv, withFds?: RunFds): Promise<number> {
  const file = argv[0]!;
  const found = resolveCommand(file, env.PATH);
  if ('error' in found) {
    info(`error: ${found.error === 'not-found' ? 'command not found' : 'permission denied'}: ${file}`);
    return found.error === 'not-found' ? 127 : 126;
  }
  const reader = await open();
  let childVars: Buffer[];
  let fds: number[] = [];
  const specs = withFds?.specs ?? [];
  try {
    if (specs.length) fds = await fetchFds(reader, withFds!.sock, env, project, specs);
    // Without --only, ask the agent for the names first so that the --fd keys' values are
    // never read into this process (the direct path holds the whole vault anyway).
    let secrets: Array<[string, Buffer]>;
    if (specs.length && flags.only === undefined && reader.names) {
      const viaFd = new Set(specs.map((s) => s.key));
      const names = await reader.names(project, typeof flags.prefix === 'string' ? flags.prefix : undefined).catch((e: unknown) => {
        if (e instanceof SesameError && e.code === 'DENIED') return null; // a token without `list`: read the selection as usual
        throw e;
      });
      const rest = names?.filter((k) => !viaFd.has(k));
      secrets = rest === undefined ? await readSelection(reader, project, flags) : rest.length ? await readSelection(reader, project, { ...flags, only: rest.join(',') }) : [];
    } else secrets = await readSelection(reader, project, flags);
    try {
      // A key handed over as a descriptor never also goes into the environment.
      const viaFd = new Set(specs.map((s) => s.key));
      childVars = childEnv(
        env,
        secrets.filter(([k]) => !viaFd.has(k)),
      );
    } finally {
      for (const [, v] of secrets) v.fill(0);
    }
  } catch (e) {
    if (fds.length) {
      const { closeDescriptor } = await import('../core/os/native.js');
      for (const f of fds) closeDescriptor(f);
    }
    throw e;
  } finally {
    reader.close();
  }
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
  info(`error: cannot execute ${file} (errno ${errno})`);
  return errno === 13 ? 126 : 127;
}
