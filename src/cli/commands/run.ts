import type { Command } from '../command.js';
import { usage } from '../args.js';
import { info } from '../output.js';
import { openReader } from '../reader.js';
import { SELECT_FLAGS, readSelection } from '../select.js';
import { childEnv, resolveCommand } from '../../core/exec.js';

const cmd: Command = {
  usage: 'run [--only K1,K2] [--prefix P] [--strict] -- CMD [ARGS…]',
  summary: 'replace sesame with CMD, its environment holding the secrets (exit status and signals are its own)',
  flags: { ...SELECT_FLAGS },
  stopAtPositional: true,
  async run(ctx, { rest, flags }) {
    const argv = rest ?? [];
    const file = argv[0];
    if (!file) throw usage('run needs a command after --', 'e.g. `sesame run -- terraform plan`');
    const found = resolveCommand(file, ctx.env.PATH);
    if ('error' in found) {
      info(`error: ${found.error === 'not-found' ? 'command not found' : 'permission denied'}: ${file}`);
      return found.error === 'not-found' ? 127 : 126;
    }
    const project = ctx.project().name;
    const reader = await openReader(ctx);
    let env: Buffer[];
    try {
      const secrets = await readSelection(reader, project, flags);
      try {
        env = childEnv(ctx.env, secrets);
      } finally {
        for (const [, v] of secrets) v.fill(0);
      }
    } finally {
      reader.close();
    }
    const { execve, makeInheritableBlocking } = await import('../../core/os/native.js');
    for (const fd of [0, 1, 2]) makeInheritableBlocking(fd);
    const errno = execve(found.path, argv, env);
    for (const b of env) b.fill(0);
    info(`error: cannot execute ${file} (errno ${errno})`);
    return errno === 13 ? 126 : 127;
  },
};
export default cmd;
