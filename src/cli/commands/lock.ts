// Placeholder: replaced by the work on the lock command.
import { SesameError } from '../../core/errors.js';
import type { Command } from '../command.js';

const cmd: Command = {
  usage: 'lock',
  summary: '(in progress)',
  flags: {},
  async run() {
    throw new SesameError('ERROR', 'lock is not built yet');
  },
};
export default cmd;
