/**
 * `sesame projects list|create|use|delete`: usage, options and one core call each
 * (core/vault/projects.ts); the key is asked for only when a change will be written.
 */
import { checkProjectName } from '../../core/names.js';
import type { ProjectDeps } from '../../core/vault/project-ops.js';
import type { Command, Group } from '../command.js';
import { usage } from '../args.js';
import { info, json as outJson, out } from '../output.js';
import type { Ctx } from '../context.js';

function needName(positionals: string[], verb: string): string {
  const n = positionals[0];
  if (!n) throw usage(`projects ${verb} needs a NAME`);
  return checkProjectName(n);
}

async function deps(ctx: Ctx): Promise<ProjectDeps> {
  const { auditedUnlock } = await import('../audited-unlock.js'); // keeps the audit subkey: the record below is keyed
  return { paths: ctx.paths, env: ctx.env, unlock: () => auditedUnlock(ctx) };
}

const list: Command = {
  usage: 'projects list [--json]\n\nexample:\n  sesame projects list',
  summary: 'list projects (the current one is marked)',
  flags: {},
  async run(ctx) {
    const cur = ctx.project().name;
    const { listProjects } = await import('../../core/vault/project-ops.js');
    const rows = listProjects(ctx.paths, cur);
    if (ctx.json) outJson({ current: cur, projects: rows });
    else out(rows.map((r) => `${r.current ? '*' : ' '} ${r.name}  (${r.keys} key${r.keys === 1 ? '' : 's'})\n`).join(''));
    if (!ctx.json && rows.length === 0) info('this vault has no projects (damaged by an older sesame?): create one with `sesame projects create default`');
    return 0;
  },
};

const create: Command = {
  usage: 'projects create NAME\n\nexample:\n  sesame projects create web',
  summary: 'create a project (its own data key)',
  flags: {},
  maxPositionals: 1,
  async run(ctx, { positionals }) {
    const name = needName(positionals, 'create');
    const { createProject } = await import('../../core/vault/project-ops.js');
    await createProject(name, await deps(ctx));
    await (await import('../audit-event.js')).auditEvent(ctx, { event: 'project_create', outcome: 'ok', project: name });
    if (ctx.json) outJson({ created: name });
    else info(`created project ${name}`);
    return 0;
  },
};

const use: Command = {
  usage: 'projects use NAME\n\nexample:\n  sesame projects use web',
  summary: 'make NAME the current project for this home',
  flags: {},
  maxPositionals: 1,
  async run(ctx, { positionals }) {
    const name = needName(positionals, 'use');
    const { useProject } = await import('../../core/vault/project-ops.js');
    useProject(ctx.paths, name);
    if (ctx.json) outJson({ current: name });
    else info(`now using project ${name}`);
    return 0;
  },
};

const del: Command = {
  usage: 'projects delete NAME [--yes]\n\nexample:\n  sesame projects delete old-app --yes',
  summary: 'delete a project and its secrets (a non-empty project needs --yes)',
  flags: { yes: { type: 'boolean', help: 'confirm deleting a project that still holds secrets' } },
  maxPositionals: 1,
  async run(ctx, { positionals, flags }) {
    const name = needName(positionals, 'delete');
    const { deleteProject } = await import('../../core/vault/project-ops.js');
    const n = await deleteProject(name, { yes: flags.yes === true }, await deps(ctx));
    await (await import('../audit-event.js')).auditEvent(ctx, { event: 'project_delete', outcome: 'ok', project: name });
    if (ctx.json) outJson({ deleted: name, keys: n });
    else info(`deleted project ${name}${n ? ` and its ${n} secret${n === 1 ? '' : 's'}` : ''}`);
    return 0;
  },
};

const rename: Command = {
  usage: 'projects rename OLD NEW\n\nexample:\n  sesame projects rename web website',
  summary: 'rename a project with all its keys and their history (atomic)',
  flags: {},
  maxPositionals: 2,
  async run(ctx, { positionals }) {
    const [from, to] = positionals;
    if (!from || !to) throw usage('projects rename needs OLD and NEW names');
    checkProjectName(from);
    checkProjectName(to);
    const { checkProjectRename, followProjectRename } = await import('../../core/vault/project-ops.js');
    checkProjectRename(ctx.paths, from, to);
    await (await import('../write.js')).runWrite(ctx, { op: 'project_rename', project: from, to });
    followProjectRename(ctx.paths, from, to);
    if (ctx.json) outJson({ renamed: from, to });
    else info(`renamed project ${from} to ${to}`);
    return 0;
  },
};

const group: Group = { summary: 'manage projects', subcommands: { list, create, use, rename, delete: del } };
export default group;
