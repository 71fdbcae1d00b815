// Placeholder: replaced by the work on the passphrase command.
import { SesameError } from '../../core/errors.js';
import type { Command } from '../command.js';

const cmd: Command = {
  usage: 'passphrase',
  summary: '(in progress)',
  flags: {},
  async run() {
    throw new SesameError('ERROR', 'passphrase is not built yet');
  },
};
export default cmd;
