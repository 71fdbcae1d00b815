import type { Command } from '../command.js';
import { usage } from '../args.js';
import { openReader } from '../reader.js';
import { SELECT_FLAGS, withDirSelection } from '../select.js';
import { execWithSecrets } from '../run-exec.js';

const cmd: Command = {
  usage: 'run [--only K1,K2] [--exclude K1,K2] [--prefix P] [--strict] [--mask] -- CMD [ARGS…]\n\nexamples:\n  sesame run --only DATABASE_URL -- npm start\n  sesame run --mask -- terraform plan',
  summary: 'replace sesame with CMD, its environment holding the secrets (exit status and signals are its own)',
  flags: { ...SELECT_FLAGS, mask: { type: 'boolean', help: 'mask the values in CMD’s output (through the agent’s exec when one runs, else locally)' } },
  stopAtPositional: true,
  async run(ctx, { rest, flags }) {
    const argv = rest ?? [];
    if (!argv[0]) throw usage('run needs a command after --', 'e.g. `sesame run -- terraform plan`');
    return execWithSecrets(() => openReader(ctx), ctx.project().name, withDirSelection(flags, ctx.project()), argv, ctx.env, ctx.paths);
  },
};
export default cmd;
