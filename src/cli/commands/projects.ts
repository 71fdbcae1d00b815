import * as fs from 'node:fs';
import { SesameError } from '../../core/errors.js';
import { checkProjectName } from '../../core/home.js';
import type { Command, Group } from '../command.js';
import { usage } from '../args.js';
import { info, json as outJson, out } from '../output.js';
import type { Ctx } from '../context.js';

async function needName(positionals: string[], verb: string): Promise<string> {
  const n = positionals[0];
  if (!n) throw usage(`projects ${verb} needs a NAME`);
  return checkProjectName(n);
}

async function mutate(ctx: Ctx, fn: (v: import('../../core/vault/vault.js').UnlockedVault) => void): Promise<void> {
  const { unlockDirect } = await import('../unlock.js');
  const { mutateVault } = await import('../../core/vault/store.js');
  const v = await unlockDirect(ctx);
  try {
    mutateVault(ctx.paths, v.master, ctx.env, fn);
  } finally {
    v.dispose();
  }
}

const list: Command = {
  usage: 'projects list [--json]',
  summary: 'list projects (the current one is marked)',
  flags: {},
  async run(ctx) {
    const { readVault } = await import('../../core/vault/store.js');
    const doc = readVault(ctx.paths);
    const cur = ctx.project().name;
    const { projectSummaries } = await import('../../core/vault/projects.js');
    const rows = projectSummaries(doc, cur);
    if (ctx.json) outJson({ current: cur, projects: rows });
    else out(rows.map((r) => `${r.current ? '*' : ' '} ${r.name}  (${r.keys} key${r.keys === 1 ? '' : 's'})\n`).join(''));
    if (!ctx.json && rows.length === 0) info('this vault has no projects (damaged by an older sesame?): create one with `sesame projects create default`');
    return 0;
  },
};

const create: Command = {
  usage: 'projects create NAME',
  summary: 'create a project (its own data key)',
  flags: {},
  maxPositionals: 1,
  async run(ctx, { positionals }) {
    const name = await needName(positionals, 'create');
    const { readVault } = await import('../../core/vault/store.js');
    if (Object.hasOwn(readVault(ctx.paths).projects, name)) throw new SesameError('INVALID', `project ${name} already exists`);
    await mutate(ctx, (v) => v.createProject(name));
    if (ctx.json) outJson({ created: name });
    else info(`created project ${name}`);
    return 0;
  },
};

const use: Command = {
  usage: 'projects use NAME',
  summary: 'make NAME the current project for this home',
  flags: {},
  maxPositionals: 1,
  async run(ctx, { positionals }) {
    const name = await needName(positionals, 'use');
    const { readVault } = await import('../../core/vault/store.js');
    if (!Object.hasOwn(readVault(ctx.paths).projects, name)) {
      throw new SesameError('NOT_FOUND', `project ${name} does not exist`, { hint: `create it with \`sesame projects create ${name}\`` });
    }
    const { writeFileAtomic } = await import('../../core/fs/secure.js');
    writeFileAtomic(ctx.paths.projectFile, `${name}\n`);
    if (ctx.json) outJson({ current: name });
    else info(`now using project ${name}`);
    return 0;
  },
};

const del: Command = {
  usage: 'projects delete NAME [--yes]',
  summary: 'delete a project and its secrets (a non-empty project needs --yes)',
  flags: { yes: { type: 'boolean', help: 'confirm deleting a project that still holds secrets' } },
  maxPositionals: 1,
  async run(ctx, { positionals, flags }) {
    const name = await needName(positionals, 'delete');
    const { readVault } = await import('../../core/vault/store.js');
    const { checkProjectDeletable } = await import('../../core/vault/projects.js');
    const n = checkProjectDeletable(readVault(ctx.paths).projects, name); // before any unlock
    if (n > 0 && !flags.yes) {
      throw new SesameError('USAGE', `project ${name} holds ${n} secret${n === 1 ? '' : 's'}; pass --yes to delete it with them`);
    }
    await mutate(ctx, (v) => v.deleteProject(name));
    try {
      const { readRegularFile } = await import('../../core/fs/secure.js');
      if (readRegularFile(ctx.paths.projectFile, 'project file', { maxBytes: 4096, followSymlinks: false }).toString('utf8').trim() === name) fs.unlinkSync(ctx.paths.projectFile);
    } catch {
      /* no (usable) current-project file */
    }
    if (ctx.json) outJson({ deleted: name, keys: n });
    else info(`deleted project ${name}${n ? ` and its ${n} secret${n === 1 ? '' : 's'}` : ''}`);
    return 0;
  },
};

const group: Group = { summary: 'manage projects', subcommands: { list, create, use, delete: del } };
export default group;
