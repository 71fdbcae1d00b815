// Placeholder: replaced by the work on the agent command.
import { SesameError } from '../../core/errors.js';
import type { Command } from '../command.js';

const cmd: Command = {
  usage: 'agent',
  summary: '(in progress)',
  flags: {},
  async run() {
    throw new SesameError('ERROR', 'agent is not built yet');
  },
};
export default cmd;
