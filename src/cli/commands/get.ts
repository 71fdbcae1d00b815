import type { Command } from '../command.js';
import { usage } from '../args.js';
import { SesameError } from '../../core/errors.js';
import { checkKeyName } from '../../core/names.js';
import { info, out, outValueLine } from '../output.js';
import { openReader } from '../reader.js';

const MAX_KEYS = 256;

/** SESAME_TEST_CLIP_CLEAR_MS: the tests' shorter clipboard delay (a whole number of ms up to 45 s); undefined otherwise. */
function clearDelay(env: NodeJS.ProcessEnv): number | undefined {
  const v = env.SESAME_TEST_CLIP_CLEAR_MS;
  return v !== undefined && /^\d{1,5}$/.test(v) && Number(v) <= 45_000 ? Number(v) : undefined;
}

const cmd: Command = {
  usage:
    'get KEY [KEY…] [-n] [--json] [--clip] [--version N] [--fd]\n\nexamples:\n  psql "$(sesame get DATABASE_URL)"\n  sesame get -n API_TOKEN | wc -c\n  sesame get USER PASSWORD --json\n  sesame get API_TOKEN --clip\n  sesame get API_TOKEN --version 3',
  summary: 'print secrets to stdout, nothing else: one value and a newline per KEY (or JSON with --json)',
  flags: {
    'no-newline': { type: 'boolean', short: 'n', help: 'print the value without the trailing newline (one KEY only)' },
    version: { type: 'string', arg: 'N', help: 'print version N from the history instead (`sesame history KEY`; one KEY)' },
    fd: { type: 'boolean', help: 'refused: a descriptor needs a process to hold it; use `sesame run --fd KEY -- CMD` (CMD reads /proc/self/fd/$KEY_FD)' },
    clip: { type: 'boolean', help: 'copy the value to the clipboard instead (wl-copy, xclip, xsel or pbcopy); cleared after 45 s if still there' },
  },
  maxPositionals: MAX_KEYS,
  async run(ctx, { positionals, flags }) {
    const keys = positionals;
    if (flags.fd) {
      // A descriptor dies with the process that holds it: `get` exits at once, so there is no path to print that stays valid.
      throw usage(
        'get --fd has no descriptor to give: it would close when sesame exits',
        "use `sesame run --fd KEY -- CMD`: CMD reads the value from descriptor $KEY_FD (or /proc/self/fd/$KEY_FD), e.g. `sesame run --fd TLS_KEY -- sh -c 'tool --key-file /proc/self/fd/$TLS_KEY_FD'`",
      );
    }
    if (!keys.length) throw usage('get needs a KEY');
    for (const k of keys) checkKeyName(k);
    if (new Set(keys).size !== keys.length) throw usage('a KEY is named twice');
    const noNewline = flags['no-newline'] === true;
    if (noNewline && keys.length > 1) throw usage('-n prints one value; several values need their newlines (or --json)');
    const clip = flags.clip === true;
    if (clip && (keys.length > 1 || ctx.json || noNewline)) throw usage('--clip copies one value, and prints nothing (no -n, no --json)');
    if (clip) (await import('../clipboard.js')).clipTool(ctx.env); // no tool: say so before any unlock
    const project = ctx.project().name;
    if (flags.version !== undefined) {
      if (keys.length > 1 || clip || ctx.json) throw usage('--version reads one KEY and prints it (no --clip, no --json)');
      const n = (await import('./restore.js')).versionFlag(flags.version, '--version');
      const v = await (await import('../version-read.js')).readVersionDirect(ctx, project, keys[0]!, n!);
      try {
        if (noNewline) out(v);
        else outValueLine(v);
      } finally {
        v.fill(0);
      }
      return 0;
    }
    const { requireKnownNames } = await import('../key-names.js');
    const names = (): Promise<void> => requireKnownNames(ctx.paths, project, keys);
    const reader = await openReader(ctx, { beforeUnlock: names }); // direct: names before any passphrase or key derivation
    const values: Buffer[] = [];
    try {
      for (const k of keys) values.push(await reader.get(project, k));
    } catch (e) {
      for (const v of values) v.fill(0);
      if (e instanceof SesameError && e.code === 'NOT_FOUND' && reader.via === 'agent') await names(); // the agent's answer, with "did you mean"
      throw e;
    } finally {
      reader.close();
    }
    try {
      if (clip) {
        const { copyToClipboard, CLEAR_AFTER_MS } = await import('../clipboard.js');
        const ms = clearDelay(ctx.env) ?? CLEAR_AFTER_MS;
        copyToClipboard(values[0]!, ctx.env, ms);
        info(`copied ${keys[0]!} to the clipboard; it is cleared in ${Math.round(ms / 1000)} s if it still holds it`);
        return 0;
      }
      if (ctx.json) {
        const { getJson } = await import('../get-json.js');
        await getJson(ctx.paths, project, keys, values);
        return 0;
      }
      if (keys.length > 1) {
        const bad = keys.filter((_, i) => values[i]!.includes(0x0a));
        if (bad.length) {
          throw new SesameError('INVALID', `the value of ${bad.join(', ')} holds a newline: one value per line cannot carry it; nothing was printed`, {
            hint: `read it alone (\`sesame get ${bad[0]!}\`), or all of them with --json (values in base64)`,
            detail: { keys: bad },
          });
        }
      }
      if (noNewline) out(values[0]!);
      else for (const v of values) outValueLine(v);
    } finally {
      for (const v of values) v.fill(0);
    }
    return 0;
  },
};
export default cmd;
