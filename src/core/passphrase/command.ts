/**
 * The passphrase_command tier: a program named in `$SESAME_HOME/config.toml` prints the
 * passphrase on stdout (e.g. `pass show sesame`, a cloud secret manager CLI).
 *
 * - Run without a shell (argv from the config), stdin from /dev/null, stderr shown to the
 *   user (so a tool can explain itself), an environment without sesame's secrets.
 * - Deadline: `passphrase_command_timeout` (default 30 s), then SIGKILL.
 * - Exactly one trailing newline ("\n" or "\r\n") is stripped; the rest is the passphrase.
 * - FAIL CLOSED: once configured, a command that cannot start, exits non-zero, is killed,
 *   times out, prints nothing, prints more than one line, a NUL or over 64 KiB throws; the
 *   chain never falls through to the prompt. Nothing the command printed is ever shown.
 * `probe` checks the config and that the program exists; it never runs it.
 */
import { SesameError } from '../errors.js';
import { loadConfig } from '../config.js';
import { resolveCommand } from '../exec.js';
import { wipe } from '../crypto/sodium.js';
import type { ChainContext, Tier } from './chain.js';
import { runTool } from './run-tool.js';
import { stripOneNewline } from './sources.js';

/** The most a passphrase_command may print; more is refused (UNAVAILABLE), never truncated into a wrong passphrase. */
export const MAX_COMMAND_OUTPUT = 64 * 1024;

function failed(ctx: ChainContext, what: string): SesameError {
  return new SesameError('UNAVAILABLE', `passphrase_command ${what}; sesame does not fall back to another source`, {
    hint: `fix or remove passphrase_command in ${ctx.paths.config}, or set SESAME_PASSPHRASE_FILE for this run`,
    detail: { tier: 'command' },
  });
}

/**
 * The passphrase_command tier: runs the configured program (no shell, a deadline, a capped stdout, sesame's
 * secrets removed from its environment) and takes its stdout minus one newline. Fails closed: a failure is
 * UNAVAILABLE with no fall back to later tiers. Absent when config.toml sets no command.
 */
export const commandTier: Tier = {
  name: 'command',
  async probe(ctx) {
    const cfg = loadConfig(ctx.paths);
    if (!cfg.passphraseCommand) return { tier: 'command', state: 'absent' };
    const prog = cfg.passphraseCommand[0]!;
    const found = resolveCommand(prog, ctx.env.PATH);
    if ('error' in found) return { tier: 'command', state: 'unusable', detail: `${prog}: ${found.error === 'not-found' ? 'not found' : 'not executable'}` };
    return { tier: 'command', state: 'present', detail: `runs ${found.path} (timeout ${cfg.passphraseCommandTimeoutMs / 1000} s)` };
  },
  async fetch(ctx) {
    const cfg = loadConfig(ctx.paths);
    const argv = cfg.passphraseCommand;
    if (!argv) return null;
    const found = resolveCommand(argv[0]!, ctx.env.PATH);
    if ('error' in found) throw failed(ctx, `${argv[0]!} is ${found.error === 'not-found' ? 'not found' : 'not executable'}`);
    const secs = cfg.passphraseCommandTimeoutMs / 1000;
    const r = await runTool(found.path, argv.slice(1), { env: ctx.env, timeoutMs: cfg.passphraseCommandTimeoutMs, maxStdout: MAX_COMMAND_OUTPUT, stderr: 'inherit' });
    if (r.spawnError) throw failed(ctx, `could not start (${r.spawnError})`);
    if (r.timedOut) throw failed(ctx, `did not finish within ${secs} s and was killed`);
    if (r.tooLarge) throw failed(ctx, `printed more than ${MAX_COMMAND_OUTPUT / 1024} KiB`);
    if (r.code !== 0) {
      wipe(r.stdout);
      throw failed(ctx, r.signal ? `was killed by ${r.signal}` : `exited with status ${String(r.code)}`);
    }
    return checkOutput(ctx, r.stdout);
  },
};

/** Validates and trims the command's output; wipes `out` in every case. */
function checkOutput(ctx: ChainContext, out: Buffer): Buffer {
  try {
    const v = stripOneNewline(out);
    if (v.length === 0) throw failed(ctx, 'printed nothing');
    if (v.includes(0)) throw failed(ctx, 'printed a NUL byte: that is not a passphrase');
    if (v.includes(0x0a) || v.includes(0x0d)) throw failed(ctx, 'printed more than one line: that is not a passphrase');
    return Buffer.from(v);
  } finally {
    wipe(out);
  }
}
