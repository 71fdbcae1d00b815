// Placeholder: replaced by the work on the unlock command.
import { SesameError } from '../../core/errors.js';
import type { Command } from '../command.js';

const cmd: Command = {
  usage: 'unlock',
  summary: '(in progress)',
  flags: {},
  async run() {
    throw new SesameError('ERROR', 'unlock is not built yet');
  },
};
export default cmd;
