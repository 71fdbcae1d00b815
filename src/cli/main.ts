/**
 * sesame's entry point: find the command (args.ts's one grammar), load only its module,
 * parse its options, run it, and turn any error into the documented exit code.
 */
import { DEFAULT_USAGE_HINT, GLOBAL_FLAGS, beforeDashDash, parseArgs, splitCommand, usage, type FlagSpec } from './args.js';
import { SesameError } from '../core/errors.js';
import { didYouMean } from './suggest.js';
import { isGroup, type Command, type CommandModule, type Group } from './command.js';
import { info, reportError, out } from './output.js';
import { VERSION } from './version.js';

const TABLE: Record<string, () => Promise<CommandModule>> = {
  init: () => import('./commands/init.js'),
  status: () => import('./commands/status.js'),
  whoami: () => import('./commands/whoami.js'),
  set: () => import('./commands/set.js'),
  get: () => import('./commands/get.js'),
  list: () => import('./commands/list.js'),
  rm: () => import('./commands/rm.js'),
  history: () => import('./commands/history.js'),
  rollback: () => import('./commands/rollback.js'),
  restore: () => import('./commands/restore.js'),
  purge: () => import('./commands/purge.js'),
  mv: () => import('./commands/mv.js'),
  rename: () => import('./commands/mv.js'),
  cp: () => import('./commands/cp.js'),
  edit: () => import('./commands/edit.js'),
  export: () => import('./commands/export.js'),
  backup: () => import('./commands/backup.js'),
  import: () => import('./commands/import.js'),
  projects: () => import('./commands/projects.js'),
  env: () => import('./commands/env.js'),
  run: () => import('./commands/run.js'),
  agent: () => import('./commands/agent.js'),
  unlock: () => import('./commands/unlock.js'),
  lock: () => import('./commands/lock.js'),
  passphrase: () => import('./commands/passphrase.js'),
  hook: () => import('./commands/hook.js'),
  completion: () => import('./commands/completion.js'),
  audit: () => import('./commands/audit.js'),
  token: () => import('./commands/token.js'),
  profile: () => import('./commands/profile.js'),
  doctor: () => import('./commands/doctor.js'),
  mcp: () => import('./commands/mcp.js'),
  approve: () => import('./commands/approve.js'),
  cell: () => import('./commands/cell.js'),
};

const ORDER = Object.keys(TABLE);

/** Every command of the one table, loaded, in help order (help and completion read this). */
export async function commandTable(): Promise<Array<[string, Command | Group]>> {
  return Promise.all(ORDER.map(async (n): Promise<[string, Command | Group]> => [n, (await TABLE[n]!()).default]));
}

async function mainHelp(): Promise<void> {
  const globals = Object.entries(GLOBAL_FLAGS)
    .filter(([n]) => n !== 'help' && n !== 'version')
    .map(([n, d]) => `[${d.short ? `-${d.short}` : `--${n}`}${d.arg ? ` ${d.arg}` : ''}]`);
  const lines = ['sesame — a local secrets vault with an unlock agent', '', `usage: sesame ${globals.join(' ')} COMMAND …`, '', 'commands:'];
  const seen = new Map<Command | Group, string>();
  for (const name of ORDER) {
    const m = (await TABLE[name]!()).default;
    const first = seen.get(m);
    if (first !== undefined) lines.push(`  ${name.padEnd(22)} the same as ${first}`);
    else if (isGroup(m)) for (const [sub, c] of Object.entries(m.subcommands)) lines.push(`  ${`${name} ${sub}`.padEnd(22)} ${c.summary}`);
    else lines.push(`  ${name.padEnd(22)} ${m.summary}`);
    seen.set(m, first ?? name);
  }
  lines.push('', 'also:', `  ${'help [COMMAND|TOPIC]'.padEnd(22)} this help, a command's help, or a documentation topic`, `  ${'version'.padEnd(22)} print the version (also --version)`);
  lines.push(
    '',
    'global options:',
    ...flagHelp(GLOBAL_FLAGS),
    '',
    'exit codes: 0 ok · 1 error · 2 usage · 3 locked · 4 not found · 5 no vault · 6 wrong passphrase · 7 busy · 8 denied',
    (await import('./commands/help.js')).helpFooter(),
  );
  out(`${lines.join('\n')}\n`);
}

function flagHelp(spec: FlagSpec): string[] {
  return Object.entries(spec).map(([n, d]) => `  ${`${d.short ? `-${d.short}, ` : ''}--${n}${d.arg ? ` ${d.arg}` : ''}`.padEnd(26)} ${d.help ?? ''}`);
}

function commandHelp(c: Command): void {
  out(`usage: sesame ${c.usage}\n\n${c.summary}\n${Object.keys(c.flags).length ? `\noptions:\n${flagHelp(c.flags).join('\n')}\n` : ''}`);
}

/** A usage error that points to the help of the command it concerns (`sesame get --help`). */
function withOwnHelp(e: unknown, command: string | undefined): unknown {
  if (!(e instanceof SesameError) || e.code !== 'USAGE' || command === undefined || e.hint !== DEFAULT_USAGE_HINT) return e;
  return new SesameError('USAGE', e.message, { hint: `see \`sesame ${command} --help\``, ...(e.detail ? { detail: e.detail } : {}) });
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  // Decided before parsing, so that a usage error is reported in the form asked for; never
  // read past `--` (that belongs to the command `run` starts).
  const wantsJson = beforeDashDash(argv).includes('--json');
  let command: string | undefined;
  try {
    const { name, rest: afterName } = splitCommand(argv);
    if (name === undefined) {
      const { flags, rest } = parseArgs(afterName, GLOBAL_FLAGS, { maxPositionals: 0 });
      if (flags.version) {
        out(`sesame ${VERSION}\n`);
        return 0;
      }
      if (flags.help) {
        await mainHelp();
        return 0;
      }
      // One line on stderr, never the whole help: `sesame`, `sesame --json`, `sesame -- get X`.
      throw usage(rest !== undefined ? `no command before \`--\`${rest.length ? ` (put the command first: sesame ${rest[0]} … --)` : ''}` : 'no command given');
    }
    if (name === 'help') {
      const topic = splitCommand(afterName).name;
      if (topic !== undefined && Object.hasOwn(TABLE, topic)) return await main([topic, '--help'], env);
      if (topic !== undefined) {
        const help = await import('./commands/help.js');
        if (!help.topics().includes(topic)) {
          throw usage(
            `no command or help topic ${JSON.stringify(topic.slice(0, 64))}${didYouMean(topic, [...ORDER, ...help.topics(), 'version'])}`,
            `commands: sesame --help; topics: ${help.topics().join(', ') || '(no docs installed)'}`,
          );
        }
        out(help.topicText(topic));
        return 0;
      }
      await mainHelp();
      return 0;
    }
    if (name === 'version') {
      out(`sesame ${VERSION}\n`);
      return 0;
    }
    const load = Object.hasOwn(TABLE, name) ? TABLE[name] : undefined;
    if (!load) throw usage(`unknown command ${JSON.stringify(name.slice(0, 64))}${didYouMean(name, [...ORDER, 'help', 'version'])}`);
    command = name;
    const mod = (await load()).default;
    let cmd: Command;
    let rest = afterName;
    if (isGroup(mod)) {
      const { name: sub, rest: afterSub } = splitCommand(rest);
      const c = sub !== undefined && Object.hasOwn(mod.subcommands, sub) ? mod.subcommands[sub] : undefined;
      if (!c) {
        if (sub === undefined && parseArgs(afterSub, GLOBAL_FLAGS).flags.help) {
          out(`usage: sesame ${name} ${Object.keys(mod.subcommands).join(' | ')}\n\n${mod.summary}\n`);
          return 0;
        }
        throw usage(
          sub === undefined
            ? `${name} needs a subcommand: ${Object.keys(mod.subcommands).join(', ')}`
            : `unknown subcommand ${name} ${JSON.stringify(sub.slice(0, 64))}${didYouMean(sub, Object.keys(mod.subcommands))}`,
        );
      }
      cmd = c;
      rest = afterSub;
      command = `${name} ${sub!}`;
    } else cmd = mod;
    const spec: FlagSpec = { ...GLOBAL_FLAGS, ...cmd.flags };
    const parsed = parseArgs(rest, spec, { stopAtPositional: cmd.stopAtPositional ?? false, maxPositionals: cmd.maxPositionals ?? 0 });
    if (parsed.flags.help) {
      commandHelp(cmd);
      return 0;
    }
    if (parsed.flags.version === true) {
      // (a command's own string --version, as `get KEY --version N`, is not this one)
      out(`sesame ${VERSION}\n`);
      return 0;
    }
    const { setLockHolderCommand, setLockWaitReporter } = await import('../core/fs/lock-notice.js');
    setLockHolderCommand(`sesame ${command}`);
    setLockWaitReporter((h, what) => {
      info(`waiting for ${h.pid !== null ? `pid ${h.pid}` : 'another process'}${h.command ? ` (${h.command})` : ''} to release ${what}…`);
    });
    const { makeCtx } = await import('./context.js');
    const ctx = makeCtx(parsed, env);
    ctx.commandTable = commandTable;
    const code = await cmd.run(ctx, parsed);
    return code ?? 0;
  } catch (e) {
    return reportError(withOwnHelp(e, command), wantsJson);
  }
}
