/**
 * `sesame hook bash|zsh|fish [--auto]`, `sesame hook direnv`: print shell code that loads a
 * project's secrets into the shell through `sesame env` (hook-scripts.ts holds the text and
 * its safety rules); `sesame hook keys`: the key names `sesame_load` would set (reads vault
 * metadata only, never a value, no unlock). docs/shells.md.
 */
import * as path from 'node:path';
import type { Command } from '../command.js';
import { usage } from '../args.js';
import { out } from '../output.js';
import { direnvHook, fishHook, posixHook } from '../hook-scripts.js';
import { withDirSelection } from '../select.js';
import { isValidKeyName } from '../../core/names.js';
import { SesameError } from '../../core/errors.js';

const TARGETS = ['bash', 'zsh', 'fish', 'direnv', 'keys'] as const;

/** How the hook runs this sesame: this node and this script, absolute (paths, never secrets). */
function selfCommand(): string[] {
  const script = process.argv[1];
  if (!script) throw new SesameError('ERROR', 'cannot tell how sesame was started, so the hook cannot call it back');
  return [process.execPath, path.resolve(script)];
}

/** The names `sesame env` would print for the current project and selection, in its order. */
async function keyNames(ctx: Parameters<Command['run']>[0]): Promise<string[]> {
  const p = ctx.project();
  const { readVault } = await import('../../core/vault/store.js');
  const doc = readVault(ctx.paths);
  const proj = Object.hasOwn(doc.projects, p.name) ? doc.projects[p.name] : undefined;
  if (!proj) throw new SesameError('NOT_FOUND', `project ${p.name} does not exist`, { hint: 'see `sesame projects list`' });
  const sel = withDirSelection({}, p);
  const only = typeof sel.only === 'string' ? [...new Set(sel.only.split(','))] : undefined;
  const prefix = typeof sel.prefix === 'string' ? sel.prefix : undefined;
  const names = only ? only.filter((n) => Object.hasOwn(proj.entries, n)) : Object.keys(proj.entries).sort();
  return names.filter((n) => isValidKeyName(n) && (prefix === undefined || n.startsWith(prefix)));
}

const cmd: Command = {
  usage: `hook bash|zsh|fish [--auto] | hook direnv | hook keys

examples:
  eval "$(sesame hook bash --auto)"        # in ~/.bashrc (zsh: ~/.zshrc, sesame hook zsh --auto)
  sesame hook fish --auto | source         # in ~/.config/fish/config.fish
  eval "$(sesame hook direnv)"             # in ~/.config/direnv/direnvrc; then \`use sesame\` in .envrc`,
  summary: 'print shell code defining sesame_load/sesame_unload (and, with --auto, load on cd), or use_sesame for direnv',
  flags: { auto: { type: 'boolean', help: "load the nearest .sesame.toml's project on cd and unload it on leaving (bash, zsh, fish)" } },
  maxPositionals: 1,
  async run(ctx, { positionals, flags }) {
    const target = positionals[0];
    if (target === undefined || !(TARGETS as readonly string[]).includes(target)) {
      throw usage(target === undefined ? 'hook needs a shell: bash, zsh, fish or direnv' : `unknown hook target ${JSON.stringify(target)}`, 'e.g. eval "$(sesame hook bash)"');
    }
    const auto = flags.auto === true;
    if (auto && (target === 'direnv' || target === 'keys')) throw usage(`--auto is for bash, zsh and fish (direnv loads on cd itself)`);
    if (target === 'keys') {
      const names = await keyNames(ctx);
      out(names.length ? `${names.join('\n')}\n` : '');
      return 0;
    }
    const self = selfCommand();
    out(target === 'fish' ? fishHook(self, auto) : target === 'direnv' ? direnvHook(self) : posixHook(target as 'bash' | 'zsh', self, auto));
    return 0;
  },
};
export default cmd;
