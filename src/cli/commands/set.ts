import * as fs from 'node:fs';
import { isatty } from 'node:tty';
import { SesameError } from '../../core/errors.js';
import { checkKeyName } from '../../core/names.js';
import type { Command } from '../command.js';
import { usage } from '../args.js';
import { info, json as outJson } from '../output.js';
import { allocSecret } from '../../core/bytes.js';

const MAX_VALUE = 4 * 1024 * 1024;

/** A copy outside V8's movable heap and Node's shared pool (allocSecret), so a wipe reaches the only copy. */
function secretCopy(src: Buffer): Buffer {
  const b = allocSecret(src.length);
  src.copy(b);
  return b;
}

/** Reads all of stdin into a Buffer (bounded, allocSecret), wiping intermediate chunks. */
export function readStdin(max = MAX_VALUE): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  const buf = allocSecret(65536);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    total += n;
    if (total > max) {
      buf.fill(0);
      for (const c of chunks) c.fill(0);
      throw new SesameError('INVALID', `the value is larger than ${max / 1048576} MiB; nothing was stored`);
    }
    chunks.push(secretCopy(buf.subarray(0, n)));
  }
  buf.fill(0);
  const v = allocSecret(total);
  let off = 0;
  for (const c of chunks) {
    off += c.copy(v, off);
    c.fill(0);
  }
  return v;
}

const cmd: Command = {
  usage: 'set KEY [--high-value | --no-high-value] [--raw] [--multiline] [--allow-empty]   (value from a no-echo prompt, or stdin)\n\nexample:\n  sesame set DATABASE_URL',
  summary: 'store a secret; the value is read from a hidden prompt or stdin, never argv',
  flags: {
    'high-value': { type: 'boolean', help: "mark the secret as high-value: a delegated caller (token, profile, cell) gets it only with the owner's approval (sesame approve)" },
    'no-high-value': { type: 'boolean', help: 'clear the high-value mark (without either flag, an update keeps the mark it had)' },
    raw: { type: 'boolean', help: 'keep a trailing newline read from stdin' },
    multiline: { type: 'boolean', help: 'at the prompt, read lines until a line holding only "." or Ctrl-D at a line start' },
    'allow-empty': { type: 'boolean', help: 'store an empty value (refused by default: an unset variable or an empty answer overwrites nothing)' },
  },
  maxPositionals: 1,
  async run(ctx, { positionals, flags }) {
    const key = positionals[0];
    if (!key) throw usage('set needs a KEY', 'the value comes from stdin or a hidden prompt, e.g. `printf %s "$V" | sesame set KEY`');
    checkKeyName(key);
    if (flags['high-value'] && flags['no-high-value']) throw usage('--high-value and --no-high-value contradict each other');
    const mark = flags['high-value'] ? { highValue: true } : flags['no-high-value'] ? { highValue: false } : {};
    const project = ctx.project().name;
    const { readVault } = await import('../../core/vault/store.js');
    readVault(ctx.paths); // NOT_INITIALIZED before asking for anything
    // On a terminal the vault is unlocked before the value is asked for, so a mistyped
    // passphrase never costs a typed value; a value on stdin is read (and checked) first.
    const { unlockDirect } = await import('../direct-unlock.js');
    const typed = isatty(0);
    const { agentTakesWrites } = await import('../write.js');
    const v = typed && !(await agentTakesWrites(ctx)) ? await unlockDirect(ctx) : undefined;
    let value: Buffer;
    try {
      if (typed) {
        const { promptValue } = await import('../prompt.js');
        value = await promptValue(key, { multiline: flags.multiline === true });
      } else {
        const raw = readStdin();
        if (flags.raw) value = raw;
        else {
          const { stripOneNewline } = await import('../../core/passphrase/sources.js');
          value = secretCopy(stripOneNewline(raw));
          raw.fill(0);
        }
      }
    } catch (e) {
      v?.dispose();
      throw e;
    }
    try {
      if (!value.length && !flags['allow-empty']) {
        throw new SesameError('USAGE', `the value for ${key} is empty; nothing was stored`, {
          hint: 'an unset variable or /dev/null gives an empty value; pass --allow-empty if you mean to store one',
        });
      }
      // One write path: through a --writes agent, else the key unlocked above or now (cli/write.ts).
      const r = await (await import('../write.js')).runWrite(ctx, { op: 'set', project, key, value, ...mark }, v ? { vault: v } : {});
      const result = r.result as 'added' | 'updated';
      if (ctx.json) outJson({ key, project, result });
      else info(`${result === 'added' ? 'added' : 'updated'} ${key} in project ${project}`);
    } finally {
      v?.dispose();
      value.fill(0);
    }
    return 0;
  },
};
export default cmd;
