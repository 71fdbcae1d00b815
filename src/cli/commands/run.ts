import type { Command } from '../command.js';
import { usage } from '../args.js';
import { openReader } from '../reader.js';
import { SELECT_FLAGS, withDirSelection } from '../select.js';
import { execWithSecrets } from '../run-exec.js';
import { parseFdSpecs } from '../run-fds.js';

const cmd: Command = {
  usage:
    'run [--only K1,K2] [--exclude K1,K2] [--prefix P] [--strict] [--mask] [--fd KEY[=N]]… -- CMD [ARGS…]\n\nexamples:\n  sesame run --only DATABASE_URL -- npm start\n  sesame run --mask -- terraform plan\n  sesame run --fd TLS_KEY=3 -- nginx -g "daemon off;"',
  summary: 'replace sesame with CMD, its environment holding the secrets (exit status and signals are its own)',
  flags: {
    ...SELECT_FLAGS,
    mask: { type: 'boolean', help: 'mask the values in CMD’s output (through the agent’s exec when one runs, else locally)' },
    fd: {
      type: 'string',
      arg: 'KEY[=N]',
      repeatable: true,
      help: 'hand KEY to CMD as an inherited read-only descriptor (at N, else any; its number in KEY_FD), not in its environment; may be repeated',
    },
  },
  stopAtPositional: true,
  async run(ctx, { rest, flags }) {
    const argv = rest ?? [];
    if (!argv[0]) throw usage('run needs a command after --', 'e.g. `sesame run -- terraform plan`');
    const specs = parseFdSpecs(flags.fd);
    if (specs.length && flags.mask) throw usage('--fd and --mask cannot be combined', 'a descriptor is read by CMD itself; drop --mask, or pass the key in the environment');
    const { fd: _fd, ...sel } = flags;
    return execWithSecrets(() => openReader(ctx), ctx.project().name, withDirSelection(sel, ctx.project()), argv, ctx.env, ctx.paths, specs.length ? { specs, sock: ctx.paths.agentSock } : undefined);
  },
};
export default cmd;
