/**
 * The heart of `sesame run`, shared by the command and the agent fast path: resolve the
 * command, read the selected secrets, build the child's environment, and replace this
 * process with the command (execve). Returns only when the command cannot run.
 */
import type { Parsed } from './args.js';
import { info, json } from './output.js';
import type { SecretReader } from './reader.js';
import { readSelection, requireCarried } from './select.js';
import type { HomePaths } from '../core/paths.js';
import { childEnv, resolveCommand } from '../core/exec.js';

/** 127 when CMD is not found, 126 when it cannot be executed; otherwise never returns. */
export async function execWithSecrets(open: () => Promise<SecretReader>, project: string, flags: Parsed['flags'], argv: string[], env: NodeJS.ProcessEnv, paths?: HomePaths): Promise<number> {
  const file = argv[0]!;
  const found = resolveCommand(file, env.PATH);
  if ('error' in found) {
    const notFound = found.error === 'not-found';
    return cannotRun(
      notFound ? 127 : 126,
      `${notFound ? 'command not found' : 'not executable (a directory, or no execute permission)'}: ${file}`,
      notFound ? 'check the name and PATH, or give the path to the program' : 'name a program file with execute permission (ls -l)',
      flags.json === true,
    );
  }
  const names = flags.exclude !== undefined && paths ? await (await import('./key-names.js')).projectKeyNames(paths, project) : undefined;
  const reader = await open();
  let childVars: Buffer[];
  try {
    const secrets = await readSelection(reader, project, flags, names);
    requireCarried(secrets, 'an environment variable', (k, v) => childEnv({}, [[k, v]]));
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
  return cannotRun(errno === 13 ? 126 : 127, `cannot execute ${file} (errno ${errno})`, 'check that it is a program for this machine, and its permissions (ls -l)', flags.json === true);
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
