/**
 * The heart of `sesame run`, shared by the command and the agent fast path: resolve the
 * command, read the selected secrets, build the child's environment, and replace this
 * process with the command (execve). Returns only when the command cannot run.
 */
import type { Parsed } from './args.js';
import { info } from './output.js';
import type { SecretReader } from './reader.js';
import { readSelection } from './select.js';
import { childEnv, resolveCommand } from '../core/exec.js';

/** 127 when CMD is not found, 126 when it cannot be executed; otherwise never returns. */
export async function execWithSecrets(open: () => Promise<SecretReader>, project: string, flags: Parsed['flags'], argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const file = argv[0]!;
  const found = resolveCommand(file, env.PATH);
  if ('error' in found) {
    info(`error: ${found.error === 'not-found' ? 'command not found' : 'permission denied'}: ${file}`);
    return found.error === 'not-found' ? 127 : 126;
  }
  const reader = await open();
  let childVars: Buffer[];
  try {
    const secrets = await readSelection(reader, project, flags);
    try {
      childVars = childEnv(env, secrets);
    } finally {
      for (const [, v] of secrets) v.fill(0);
    }
  } finally {
    reader.close();
  }
  const { execve, makeInheritableBlocking } = await import('../core/os/native.js');
  for (const fd of [0, 1, 2]) makeInheritableBlocking(fd);
  const errno = execve(found.path, argv, childVars);
  for (const b of childVars) b.fill(0);
  info(`error: cannot execute ${file} (errno ${errno})`);
  return errno === 13 ? 126 : 127;
}
