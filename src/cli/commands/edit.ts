/**
 * `sesame edit KEY`: the value in $VISUAL/$EDITOR, through a 0600 file in a private tmpfs
 * directory (edit-file.ts) that is wiped and removed afterwards; stored only if it changed.
 */
import { spawnSync } from 'node:child_process';
import { SesameError } from '../../core/errors.js';
import { checkKeyName } from '../../core/names.js';
import { allocSecret } from '../../core/bytes.js';
import type { Command } from '../command.js';
import { usage } from '../args.js';
import { info, warn, json as outJson } from '../output.js';
import { docForChecks, runWrite } from '../write.js';

const MAX_VALUE = 4 * 1024 * 1024;
const FILE = 'value';

const cmd: Command = {
  usage: 'edit KEY\n\nexample:\n  EDITOR=vim sesame edit TLS_KEY',
  summary: 'edit a secret in $VISUAL/$EDITOR (a private tmpfs file, wiped after); stored only if changed',
  flags: {},
  maxPositionals: 1,
  async run(ctx, { positionals }) {
    const key = positionals[0];
    if (!key) throw usage('edit needs a KEY');
    checkKeyName(key);
    const project = ctx.project().name;
    const editor = ctx.env.VISUAL || ctx.env.EDITOR;
    if (!editor) throw usage('edit needs an editor: set VISUAL or EDITOR', 'or store the value with `sesame set KEY`');
    const doc = await docForChecks(ctx);
    const p = Object.hasOwn(doc.projects, project) ? doc.projects[project] : undefined;
    if (!p) throw (await import('../../core/vault/vault.js')).projectNotFound(project);
    const exists = Object.hasOwn(p.entries, key);
    const { privateTmpfsDir, writeScratch, readScratch, strayFiles, wipeDir } = await import('../edit-file.js');
    const dir = privateTmpfsDir(ctx.env); // refused before any unlock when there is no tmpfs
    let before: Buffer = allocSecret(0);
    let after: Buffer | undefined;
    // Without an agent, one unlock serves the read and the write (one prompt, not two).
    let vault: Awaited<ReturnType<typeof import('../direct-unlock.js').unlockDirect>> | undefined;
    try {
      const { connectAgent } = await import('../../core/agent/client.js');
      const client = ctx.noAgent ? null : await connectAgent(ctx.paths.agentSock, ctx.env);
      // Unlock before the editor opens unless a --writes agent will take the write: an edit is
      // never lost to a passphrase that cannot be read after the editor closed.
      if (!client || !(await (await import('../write.js')).agentTakesWrites(ctx))) {
        try {
          vault = await (await import('../direct-unlock.js')).unlockDirect(ctx);
        } catch (e) {
          client?.close();
          if (client && e instanceof SesameError && e.code === 'LOCKED') {
            throw new SesameError('LOCKED', 'the agent is read-only; start it with --writes, or type the passphrase', { remedy: 'agent_writes' });
          }
          throw e;
        }
      }
      if (exists) {
        if (client) {
          try {
            before = await client.get(project, key);
          } finally {
            client.close();
          }
        } else before = await (await import('../version-read.js')).readDirect(ctx, vault!, project, key);
      } else client?.close();
      const file = writeScratch(dir, FILE, before);
      const r = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, 'sesame-edit', file], { stdio: 'inherit', env: ctx.env });
      if (r.error || r.status !== 0) {
        throw new SesameError('ERROR', `the editor ${r.error ? 'could not run' : r.signal ? `was killed by ${r.signal}` : `exited with ${String(r.status)}`}; nothing was stored`, {
          hint: 'check VISUAL/EDITOR; the old value is unchanged',
        });
      }
      const stray = strayFiles(dir, FILE);
      if (stray.length) warn(`the editor left ${stray.join(', ')} next to the value: overwritten and removed`);
      after = readScratch(file, MAX_VALUE);
      // Editors end the last line with a newline: drop one unless the old value ended with one.
      if (after.length && after[after.length - 1] === 0x0a && !(before.length && before[before.length - 1] === 0x0a)) after = after.subarray(0, after.length - 1);
      if (after.equals(before)) {
        if (ctx.json) outJson({ key, project, result: 'unchanged' });
        else info(`${key} is unchanged; nothing was stored`);
        return 0;
      }
      if (!after.length) throw new SesameError('USAGE', `the edited value for ${key} is empty; nothing was stored`, { hint: 'to remove the key: `sesame rm KEY`' });
      const w = await runWrite(ctx, { op: 'set', project, key, value: after }, vault ? { vault } : {});
      if (ctx.json) outJson({ key, project, result: w.result, version: w.version });
      else info(`${w.result} ${key} in project ${project} (v${String(w.version)})`);
      return 0;
    } finally {
      before.fill(0);
      after?.fill(0);
      wipeDir(dir);
      vault?.dispose();
    }
  },
};
export default cmd;
