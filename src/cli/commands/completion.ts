/**
 * `sesame completion bash|zsh|fish` prints a completion script; the script asks
 * `sesame completion complete -- WORDS… CURRENT` for candidates on each TAB, so commands,
 * subcommands and options always come from the one command table (main.ts), and project and
 * key names from the vault's metadata (never a value, never an unlock, never a prompt).
 * docs/shells.md.
 */
import * as path from 'node:path';
import type { Command, Group } from '../command.js';
import { isGroup } from '../command.js';
import { GLOBAL_FLAGS, usage, type FlagSpec } from '../args.js';
import { out } from '../output.js';
import { fishQuote, shQuote } from '../hook-scripts.js';
import type { Ctx } from '../context.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
/** Positional choices the usage text cannot say on its own. */
const CHOICES: Record<string, readonly string[]> = { hook: ['bash', 'zsh', 'fish', 'direnv', 'keys'], completion: SHELLS };
/** Option values sesame can list: the option's name → what to list. */
const VALUE_LISTS: Record<string, 'projects' | 'formats'> = { project: 'projects', format: 'formats' };

type Table = Array<[string, Command | Group]>;

interface Position {
  /** The command, then its subcommand for a group. */
  path: string[];
  /** Positionals already typed after the command words. */
  npos: number;
  /** The option whose value is being typed, if any. */
  valueFor?: string;
  home?: string;
  project?: string;
  afterDashDash: boolean;
}

function commandOf(table: Table, p: string[]): Command | Group | undefined {
  const top = table.find(([n]) => n === p[0])?.[1];
  if (!top || p.length < 2 || !isGroup(top)) return top;
  return Object.hasOwn(top.subcommands, p[1]!) ? top.subcommands[p[1]!] : undefined;
}

function specOf(table: Table, p: string[]): FlagSpec {
  const c = commandOf(table, p);
  return { ...GLOBAL_FLAGS, ...(c && !isGroup(c) ? c.flags : {}) };
}

/** Where the cursor is, from the words before it (the program name excluded). */
export function locate(table: Table, words: readonly string[]): Position {
  const pos: Position = { path: [], npos: 0, afterDashDash: false };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') return { ...pos, afterDashDash: true };
    const spec = specOf(table, pos.path);
    if (w.startsWith('-') && w.length > 1) {
      const eq = w.indexOf('=');
      const name = w.startsWith('--') ? w.slice(2, eq === -1 ? undefined : eq) : Object.keys(spec).find((n) => spec[n]!.short === w[1]);
      const d = name !== undefined && Object.hasOwn(spec, name) ? spec[name] : undefined;
      if (!d || d.type !== 'string') continue;
      const value = eq !== -1 ? w.slice(eq + 1) : !w.startsWith('--') && w.length > 2 ? w.slice(2) : words[i + 1];
      if (value === undefined) return { ...pos, valueFor: name };
      if (name === 'home') pos.home = value;
      if (name === 'project') pos.project = value;
      if (eq === -1 && (w.startsWith('--') || w.length === 2)) i++;
      continue;
    }
    const c = commandOf(table, pos.path);
    if (pos.path.length === 0 || (pos.path.length === 1 && c && isGroup(c))) pos.path.push(w);
    else pos.npos++;
  }
  return pos;
}

/** Commands whose KEY is a removed key (restore, purge) or either kind (history). */
const REMOVED_KEY_COMMANDS: ReadonlySet<string> = new Set(['restore', 'purge']);

/** The metadata lists: project names, or the live or removed key names of a project (no unlock). */
async function metaList(ctx: Ctx, kind: 'projects' | 'keys' | 'removed', at: Position): Promise<string[]> {
  const { homePaths, resolveHome, resolveProject } = await import('../../core/paths.js');
  const { readVault } = await import('../../core/vault/store.js');
  const paths = at.home !== undefined ? homePaths(resolveHome(at.home, ctx.env), ctx.env) : ctx.paths;
  const doc = readVault(paths);
  if (kind === 'projects') return Object.keys(doc.projects).sort();
  const project = at.project ?? resolveProject(undefined, ctx.env, paths).name;
  const p = Object.hasOwn(doc.projects, project) ? doc.projects[project] : undefined;
  if (!p) return [];
  return Object.keys(kind === 'removed' ? (p.removed ?? {}) : p.entries).sort();
}

/** The candidates for `cur`, given the words before it. Never throws for a vault problem: it just offers less. */
export async function candidates(ctx: Ctx, table: Table, words: readonly string[], cur: string): Promise<string[]> {
  const at = locate(table, words);
  if (at.afterDashDash) return [];
  const safe = async (f: () => Promise<string[]>): Promise<string[]> => f().catch(() => []);
  let all: readonly string[] = [];
  if (at.valueFor !== undefined) {
    const list = VALUE_LISTS[at.valueFor];
    if (list === 'projects') all = await safe(() => metaList(ctx, 'projects', at));
    else if (list === 'formats') all = (await import('../../core/envfmt.js')).ENV_FORMATS;
  } else if (cur.startsWith('-')) {
    const spec = specOf(table, at.path);
    all = Object.entries(spec).flatMap(([n, d]) => [`--${n}`, ...(d.short ? [`-${d.short}`] : [])]);
  } else if (at.path.length === 0) {
    all = [...table.map(([n]) => n), 'help', 'version'];
  } else {
    const c = commandOf(table, at.path);
    const name = at.path.join(' ');
    if (c && isGroup(c)) all = at.path.length === 1 ? Object.keys(c.subcommands) : [];
    else if (at.path[0] === 'help') all = at.npos === 0 && at.path.length === 1 ? table.map(([n]) => n) : [];
    else if (c && at.npos === 0) {
      const first = c.usage.split('\n')[0]!.split(/\s+/).slice(at.path.length);
      const wants = first.find((t) => !t.startsWith('[') && !t.startsWith('-') && !t.startsWith('('));
      if (Object.hasOwn(CHOICES, name)) all = CHOICES[name]!;
      else if (REMOVED_KEY_COMMANDS.has(name)) all = await safe(() => metaList(ctx, 'removed', at));
      else if (name === 'history') all = [...new Set([...(await safe(() => metaList(ctx, 'keys', at))), ...(await safe(() => metaList(ctx, 'removed', at)))])].sort();
      else if (wants === 'KEY') all = await safe(() => metaList(ctx, 'keys', at));
      else if ((wants === 'NAME' || wants === 'OLD') && (name === 'projects use' || name === 'projects delete' || name === 'projects rename')) all = await safe(() => metaList(ctx, 'projects', at));
    }
  }
  return all.filter((s) => s.startsWith(cur));
}

function selfCommand(): string[] {
  return [process.execPath, path.resolve(process.argv[1] ?? 'sesame')];
}

/** The scripts: each only collects the words and asks sesame; nothing typed is ever eval'd. */
export function completionScript(shell: (typeof SHELLS)[number]): string {
  const cmd = selfCommand();
  if (shell === 'fish') {
    const run = cmd.map(fishQuote).join(' ');
    return `# sesame completion for fish, printed by \`sesame completion fish\`
function __sesame_complete
    set -l words (commandline -opc)
    set -e words[1]
    set -l cur (commandline -ct)
    env SESAME_NO_PROMPT=1 ${run} completion complete -- $words "$cur" 2>/dev/null </dev/null
end
complete -c sesame -f -a '(__sesame_complete)'
`;
  }
  const run = cmd.map(shQuote).join(' ');
  if (shell === 'zsh') {
    return `#compdef sesame
# sesame completion for zsh, printed by \`sesame completion zsh\` (after compinit)
_sesame() {
  local -a __sesame_c
  __sesame_c=("\${(@f)$(SESAME_NO_PROMPT=1 ${run} completion complete -- "\${(@)words[2,CURRENT-1]}" "\${words[CURRENT]}" 2>/dev/null </dev/null)}")
  __sesame_c=(\${__sesame_c:#})
  if (( \${#__sesame_c} )); then compadd -- "\${__sesame_c[@]}"; else _files; fi
}
compdef _sesame sesame
`;
  }
  return `# sesame completion for bash, printed by \`sesame completion bash\`
_sesame_complete() {
  local IFS=$'\\n' cur="\${COMP_WORDS[COMP_CWORD]}"
  [ "$cur" = = ] && cur=
  COMPREPLY=($(SESAME_NO_PROMPT=1 ${run} completion complete -- "\${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" 2>/dev/null </dev/null))
}
complete -o default -F _sesame_complete sesame
`;
}

const cmd: Command = {
  usage: `completion bash|zsh|fish

examples:
  source <(sesame completion bash)                  # in ~/.bashrc
  source <(sesame completion zsh)                   # in ~/.zshrc, after compinit
  sesame completion fish > ~/.config/fish/completions/sesame.fish`,
  summary: 'print a shell completion script (commands, options, project and key names; never a value)',
  flags: {},
  maxPositionals: 1,
  async run(ctx, { positionals, rest }) {
    const what = positionals[0];
    if (what === 'complete') {
      const words = [...(rest ?? [])];
      const cur = words.pop() ?? '';
      if (!ctx.commandTable) throw new Error('internal: completion needs the command table from the dispatcher');
      const found = await candidates(ctx, await ctx.commandTable(), joinEquals(words), cur);
      out(found.length ? `${found.join('\n')}\n` : '');
      return 0;
    }
    if (what === undefined || !(SHELLS as readonly string[]).includes(what)) {
      throw usage(what === undefined ? 'completion needs a shell: bash, zsh or fish' : `unknown shell ${JSON.stringify(what)}`, 'e.g. source <(sesame completion bash)');
    }
    out(completionScript(what as (typeof SHELLS)[number]));
    return 0;
  },
};
export default cmd;

/** bash splits `--project=x` at `=` (COMP_WORDBREAKS): put such words back together. */
function joinEquals(words: string[]): string[] {
  const outw: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const last = outw.at(-1);
    if (words[i] === '=' && last?.startsWith('--')) outw[outw.length - 1] = `${last}=${words[++i] ?? ''}`;
    else outw.push(words[i]!);
  }
  return outw;
}
