/**
 * `sesame profile list | show | check | mount`: the profiles of a home (docs/tokens-and-profiles.md).
 * The core (core/policy/profiles.ts) parses and validates; the socket a profile gets comes
 * from the agent's own placement (core/agent/listeners.ts `profileListener`, paths.ts
 * `placeSocket`), so what is printed here is where the agent binds.
 *
 * Nothing here starts, needs or changes an agent: serving the sockets arrives with the agent
 * wiring. `mount` prints what a container or sandbox needs to reach one profile's socket.
 */
import { SesameError } from '../../core/errors.js';
import type { Profile, ProfileProblem } from '../../core/policy/profiles.js';
import { usage } from '../args.js';
import type { Command, Group } from '../command.js';
import type { Ctx } from '../context.js';
import { info, json as outJson, out, warn } from '../output.js';

/** Where the socket of a profile lives and its mode, as the agent will bind it. */
async function socketOf(ctx: Ctx, p: Profile): Promise<{ socket: string; mode: string }> {
  const { profileListener } = await import('../../core/agent/listeners.js');
  const spec = profileListener(ctx.paths.home, p.name, p.peer, ctx.env);
  return { socket: spec.socket, mode: spec.mode.toString(8).padStart(4, '0') };
}

async function load(ctx: Ctx): Promise<{ dir: string; profiles: Map<string, Profile>; problems: ProfileProblem[] }> {
  const { loadProfiles, profilesDir } = await import('../../core/policy/profiles.js');
  const dir = profilesDir(ctx.paths.home);
  return { dir, ...loadProfiles(dir) };
}

const peerText = (p: Profile): string => (typeof p.peer === 'string' ? p.peer : `uids ${p.peer.join(',')}`);

async function needProfile(ctx: Ctx, name: string | undefined, verb: string): Promise<Profile> {
  if (name === undefined) throw usage(`profile ${verb} needs a NAME`);
  const { isValidProfileName, problemError } = await import('../../core/policy/profiles.js');
  if (!isValidProfileName(name)) throw usage(`invalid profile name ${JSON.stringify(name.slice(0, 64))}`, 'profile names match [A-Za-z0-9][A-Za-z0-9_-]*, at most 32 characters');
  const { dir, profiles, problems } = await load(ctx);
  const p = profiles.get(name);
  if (p) return p;
  const mine = problems.filter((x) => x.file.endsWith(`/${name}.toml`));
  if (mine[0]) throw problemError(mine[0], mine.length);
  throw new SesameError('NOT_FOUND', `no profile ${name} (no valid ${dir}/${name}.toml)`, { hint: 'see the profiles with `sesame profile list`' });
}

function profileJson(p: Profile, s: { socket: string; mode: string }): Record<string, unknown> {
  return {
    name: p.name,
    file: p.file,
    socket: s.socket,
    socket_mode: s.mode,
    projects: p.projects,
    keys: p.keys,
    reveal: p.reveal,
    commands: p.commands,
    env: Object.fromEntries(p.env),
    peer: p.peer,
    require_token: p.requireToken,
    rate_limit: p.rateLimit ? `${p.rateLimit.count}/${p.rateLimit.perMs === 1000 ? 'sec' : p.rateLimit.perMs === 60_000 ? 'min' : 'hour'}` : null,
    ttl_s: p.ttlMs === undefined ? null : p.ttlMs / 1000,
    approval_timeout_s: p.approvalTimeoutMs === undefined ? null : p.approvalTimeoutMs / 1000,
  };
}

const listCmd: Command = {
  usage: 'profile list [--json]\n\nexample:\n  sesame profile list',
  summary: 'list profiles: name, the socket each gets, scope summary',
  flags: {},
  async run(ctx) {
    const { profiles, problems, dir } = await load(ctx);
    const rows = await Promise.all([...profiles.values()].map(async (p) => ({ p, s: await socketOf(ctx, p) })));
    if (ctx.json) {
      outJson({ dir, profiles: rows.map(({ p, s }) => profileJson(p, s)), problems: problems.length });
    } else {
      out(
        rows
          .map(({ p, s }) => `${p.name}  ${s.socket}  projects=${p.projects.join(',')} keys=${p.keys.join(',')}${p.reveal ? ' reveal' : ''} peer=${peerText(p)}${p.requireToken ? ' token' : ''}\n`)
          .join(''),
      );
      if (rows.length === 0 && problems.length === 0) info(`no profiles (${dir} does not exist): the agent serves only the owner socket`);
    }
    if (problems.length) warn(`${problems.length} problem${problems.length === 1 ? '' : 's'} in the profiles: the agent would refuse them (see \`sesame profile check\`)`);
    return 0;
  },
};

const showCmd: Command = {
  usage: 'profile show NAME [--json]\n\nexample:\n  sesame profile show ci',
  summary: 'show one profile as the agent would apply it',
  flags: {},
  maxPositionals: 1,
  async run(ctx, { positionals }) {
    const p = await needProfile(ctx, positionals[0], 'show');
    const j = profileJson(p, await socketOf(ctx, p));
    if (ctx.json) outJson(j);
    else
      out(
        Object.entries(j)
          .map(([k, v]) => `${k.padEnd(18)} ${typeof v === 'string' ? v : JSON.stringify(v)}\n`)
          .join(''),
      );
    return 0;
  },
};

const checkCmd: Command = {
  usage: 'profile check [--json]\n\nexample:\n  sesame profile check',
  summary: 'validate every profile without starting anything (exit 1 listing file:line of each problem)',
  flags: {},
  async run(ctx) {
    const { describeProblem } = await import('../../core/policy/profiles.js');
    const { dir, profiles, problems } = await load(ctx);
    if (ctx.json) {
      outJson({ dir, ok: problems.length === 0, profiles: [...profiles.keys()], problems });
      return problems.length ? 1 : 0;
    }
    if (problems.length) {
      for (const p of problems) info(describeProblem(p));
      throw new SesameError('INVALID', `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${dir}: the agent would refuse to start (and a reload would keep the old policy)`, {
        hint: 'fix each line named above, then run `sesame profile check` again',
        detail: { file: problems[0]!.file, ...(problems[0]!.line === null ? {} : { line: problems[0]!.line }) },
      });
    }
    info(profiles.size ? `${profiles.size} profile${profiles.size === 1 ? '' : 's'} ok: ${[...profiles.keys()].join(', ')}` : `no profiles (${dir} does not exist)`);
    return 0;
  },
};

/** Quotes for a POSIX shell when needed (paths are not secret). */
function shq(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Where the socket appears inside the container or sandbox unless --target says otherwise. */
export const DEFAULT_TARGET = '/run/sesame/agent.sock';

const mountCmd: Command = {
  usage: 'profile mount NAME [--target PATH] [--for docker|podman|bwrap] [--json]\n\nexample:\n  sesame profile mount ci --for docker',
  summary: 'print what a container or sandbox needs to reach a profile socket',
  flags: {
    target: { type: 'string', arg: 'PATH', help: `where the socket appears inside (default ${DEFAULT_TARGET})` },
    for: { type: 'string', arg: 'TOOL', help: 'print only the arguments for docker, podman or bwrap (to paste into its command line)' },
  },
  maxPositionals: 1,
  async run(ctx, { positionals, flags }) {
    const p = await needProfile(ctx, positionals[0], 'mount');
    const { socket } = await socketOf(ctx, p);
    const target = typeof flags.target === 'string' ? flags.target : DEFAULT_TARGET;
    if (!target.startsWith('/') || target.includes(':') || target.includes(',') || target.includes('\0'))
      throw usage('--target must be an absolute path without : or ,', 'e.g. /run/sesame/agent.sock');
    // SESAME_AGENT_DELEGATED=1: the client inside trusts the socket it was given (client.ts).
    const docker = `-v ${shq(`${socket}:${target}`)} -e ${shq(`SESAME_AGENT_SOCK=${target}`)} -e SESAME_AGENT_DELEGATED=1`;
    const bwrap = `--bind ${shq(socket)} ${shq(target)} --setenv SESAME_AGENT_SOCK ${shq(target)} --setenv SESAME_AGENT_DELEGATED 1`;
    const tool = flags.for;
    if (tool !== undefined && tool !== 'docker' && tool !== 'podman' && tool !== 'bwrap') throw usage(`--for takes docker, podman or bwrap, not ${JSON.stringify(String(tool).slice(0, 32))}`);
    if (ctx.json) outJson({ profile: p.name, socket, target, env: { SESAME_AGENT_SOCK: target, SESAME_AGENT_DELEGATED: '1' }, docker, podman: docker, bwrap });
    else if (tool === 'bwrap') out(`${bwrap}\n`);
    else if (tool !== undefined) out(`${docker}\n`);
    else out(`# docker / podman run …\n${docker}\n# bwrap … (needs a writable parent for the target, e.g. --tmpfs /run)\n${bwrap}\n`);
    if (p.peer === 'same-uid') warn(`profile ${p.name} has peer = "same-uid": only processes of your own uid are served; a container running as another uid needs peer = "any" or its uid`);
    if (!ctx.json) info('the socket exists while the agent runs (it serves every valid profile; SIGHUP picks up new ones)');
    return 0;
  },
};

const group: Group = {
  summary: 'profiles: one socket per profile, scoped to some projects and keys',
  subcommands: { list: listCmd, show: showCmd, check: checkCmd, mount: mountCmd },
};

export default group;
