/**
 * `agent install | uninstall | restart | logs` (docs/agent.md, "Running as a service"): the
 * agent as a per-user service — a systemd user unit on Linux, a launchd agent on macOS —
 * running `sesame agent start` in the foreground and unlocking from a non-interactive tier.
 *
 * What the service file holds: the command, SESAME_HOME, a PATH, and (for the file tier) the
 * PATH of the passphrase file — never a passphrase. Its command survives upgrades:
 *  - sesame is named by the path it was invoked through, NOT its resolved target: the npm
 *    global bin symlink (`$(npm prefix -g)/bin/sesame`) stays put while the package under it
 *    is replaced. A path with a version in it (…/v20.11.1/…, …@1.2.3/…) is refused unless
 *    `--bin` names a stable one.
 *  - node is found through `/usr/bin/env node` on the unit's PATH: the directory of the node
 *    running now when that has no version in it, then /usr/local/bin:/usr/bin:/bin. A Node
 *    upgrade in place (apt, the official installer) keeps working; an nvm-style versioned
 *    directory is left out (warned), so the system node is used.
 *
 * Idempotent: the file is compared with what would be written and rewritten only when it
 * differs (atomic, durable). The file names, in a comment, the directories install created,
 * so `uninstall` removes exactly those (when empty) and the file, and nothing else.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync, spawn } from 'node:child_process';
import { SesameError } from '../core/errors.js';
import type { Command } from './command.js';
import type { Ctx } from './context.js';
import { parseDuration, usage } from './args.js';
import { info, json as outJson, out, warn } from './output.js';

/** The unit's name and the launchd label (one service per user: the home is in the file). */
export const UNIT_NAME = 'sesame-agent.service';
export const LAUNCHD_LABEL = 'sesame.agent';
const MARK = 'written by `sesame agent install`';

type Platform = 'linux' | 'macos';

/** A tier the service can unlock from without a person: its name, and the environment the service needs for it. */
interface ServiceTier {
  tier: 'sealed' | 'keyring' | 'command' | 'file';
  env: Record<string, string>;
}

/** Where the service file goes for `platform`, honouring XDG_CONFIG_HOME on Linux. */
export function serviceFile(platform: Platform, env: NodeJS.ProcessEnv): string {
  const home = env.HOME ?? '/';
  if (platform === 'macos') return path.join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
  const xdg = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(home, '.config');
  return path.join(xdg, 'systemd', 'user', UNIT_NAME);
}

const VERSIONED = /(^|\/)(v?\d+\.\d+\.\d+[^/]*|[^/]*@\d+\.\d+\.\d+[^/]*|node-v\d+[^/]*)(\/|$)/;

function checkPathText(p: string, what: string): string {
  if (!path.isAbsolute(p) || Array.from(p).some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    throw new SesameError('INVALID', `${what} ${JSON.stringify(p.slice(0, 200))} is not an absolute path without control characters`, { hint: 'pass --bin with the stable path of sesame' });
  return p;
}

/**
 * The stable path of sesame: `--bin`, else the path it was invoked through (process.argv[1],
 * symlinks NOT resolved), else `sesame` on PATH when that is the same file. Refuses a path
 * with a version in it: the next upgrade would leave the service pointing at nothing.
 */
export function stableBin(env: NodeJS.ProcessEnv, bin?: string): string {
  const candidate = bin ?? process.argv[1];
  if (!candidate) throw new SesameError('ERROR', 'cannot tell where sesame is installed', { hint: 'pass --bin PATH (e.g. the npm global bin symlink: $(npm prefix -g)/bin/sesame)' });
  let p = checkPathText(path.resolve(candidate), 'the sesame executable');
  if (!bin && VERSIONED.test(p)) {
    // Invoked through a versioned path: a `sesame` on PATH that is the same file is stabler.
    for (const dir of (env.PATH ?? '').split(':')) {
      const q = path.join(dir, 'sesame');
      try {
        if (path.isAbsolute(q) && !VERSIONED.test(q) && fs.realpathSync(q) === fs.realpathSync(p)) {
          p = q;
          break;
        }
      } catch {
        /* not there */
      }
    }
  }
  if (VERSIONED.test(p))
    throw new SesameError('INVALID', `sesame runs from ${p}, a path with a version in it: the service would break at the next upgrade`, {
      hint: 'install sesame globally (npm install -g) and run install through its bin link, or pass --bin with a stable path',
    });
  return p;
}

/** The unit's PATH: node's directory when it has no version in it, then the system's. */
function servicePath(): string {
  const dirs = ['/usr/local/bin', '/usr/bin', '/bin'];
  const nodeDir = path.dirname(process.execPath);
  if (!VERSIONED.test(process.execPath) && !dirs.includes(nodeDir)) dirs.unshift(nodeDir);
  else if (VERSIONED.test(process.execPath)) warn(`node runs from ${process.execPath}, a versioned directory: the service finds node on /usr/local/bin:/usr/bin:/bin instead`);
  return dirs.join(':');
}

/** The first tier that unlocks without a person; UNAVAILABLE naming what to set up when there is none. */
async function serviceTier(ctx: Ctx): Promise<ServiceTier> {
  const chain = await ctx.chain();
  const { sealedTier, keyringTier, commandTier } = await import('../core/passphrase/tiers.js');
  const { fileTier } = await import('../core/passphrase/sources.js');
  const tried: string[] = [];
  const file = ctx.env.SESAME_PASSPHRASE_FILE;
  for (const t of [sealedTier, keyringTier, commandTier, ...(file ? [fileTier] : [])]) {
    let st;
    try {
      st = await t.probe(chain);
    } catch (e) {
      tried.push(`${t.name}: ${e instanceof Error ? e.message : 'probe failed'}`);
      continue;
    }
    if (st.state === 'present') {
      if (t.name === 'file') return { tier: 'file', env: { SESAME_PASSPHRASE_FILE: checkPathText(path.resolve(file!), 'SESAME_PASSPHRASE_FILE') } };
      return { tier: t.name as ServiceTier['tier'], env: {} };
    }
    tried.push(`${t.name}: ${st.state}${st.detail ? ` (${st.detail})` : ''}`);
  }
  throw new SesameError('UNAVAILABLE', `no non-interactive way to unlock is set up, so a service could not start the agent (${tried.join('; ')})`, {
    hint: 'set one up first: `sesame passphrase seal` (sealed credential), `sesame passphrase to-keyring`, passphrase_command in config.toml, or SESAME_PASSPHRASE_FILE pointing at a 0600 file',
  });
}

/** A systemd unit-file word: quoted, with `\`, `"`, `%` and `$` escaped (systemd.syntax, systemd.service "Command lines"). */
function sdWord(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Spec {
  bin: string;
  args: string[];
  env: Record<string, string>;
  home: string;
  tier: ServiceTier['tier'];
  created: string[];
}

/** The systemd user unit. */
export function systemdUnit(s: Spec): string {
  const env = Object.entries(s.env).map(([k, v]) => `Environment=${sdWord(`${k}=${v}`)}`);
  const families = s.tier === 'command' ? 'AF_UNIX AF_INET AF_INET6' : 'AF_UNIX';
  return `# ${MARK}; \`sesame agent uninstall\` removes it.
# created-dirs: ${s.created.map((d) => JSON.stringify(d)).join(' ')}
[Unit]
Description=sesame unlock agent (${s.home.replace(/%/g, '%%')})
After=default.target

[Service]
Type=simple
# Unlocks from the ${s.tier} tier; never a passphrase in this file.
ExecStart=/usr/bin/env node ${[s.bin, ...s.args].map(sdWord).join(' ')}
${env.join('\n')}
# idle/ttl end the agent with exit 0 (it stays stopped until \`sesame agent restart\`); a crash exits 1 and is restarted.
Restart=on-failure
RestartSec=5
UMask=0077
LimitCORE=0
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ProtectHome=read-only
ReadWritePaths=${sdWord(s.home)} %t
RestrictAddressFamilies=${families}
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
SystemCallArchitectures=native
# MemoryDenyWriteExecute is left out: V8's JIT makes pages executable after writing them, and
# node aborts at its first compiled function under it (tested: test/e2e/agent-install.test.ts).

[Install]
WantedBy=default.target
`;
}

/** The launchd property list (macOS). */
export function launchdPlist(s: Spec): string {
  const str = (v: string): string => `<string>${xml(v)}</string>`;
  const envs = Object.entries(s.env)
    .map(([k, v]) => `\t\t<key>${xml(k)}</key>\n\t\t${str(v)}`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- ${MARK}; \`sesame agent uninstall\` removes it. Unlocks from the ${s.tier} tier; never a passphrase in this file. -->
<!-- created-dirs: ${s.created.map((d) => xml(JSON.stringify(d))).join(' ')} -->
<plist version="1.0">
<dict>
\t<key>Label</key>
\t${str(LAUNCHD_LABEL)}
\t<key>ProgramArguments</key>
\t<array>
${['/usr/bin/env', 'node', s.bin, ...s.args].map((a) => `\t\t${str(a)}`).join('\n')}
\t</array>
\t<key>EnvironmentVariables</key>
\t<dict>
${envs}
\t</dict>
\t<key>RunAtLoad</key>
\t<true/>
\t<key>KeepAlive</key>
\t<dict>
\t\t<key>SuccessfulExit</key>
\t\t<false/>
\t</dict>
\t<key>ProcessType</key>
\t${str('Background')}
\t<key>Umask</key>
\t<integer>63</integer>
\t<key>SoftResourceLimits</key>
\t<dict>
\t\t<key>Core</key>
\t\t<integer>0</integer>
\t</dict>
\t<key>HardResourceLimits</key>
\t<dict>
\t\t<key>Core</key>
\t\t<integer>0</integer>
\t</dict>
\t<key>StandardErrorPath</key>
\t${str(path.join(s.home, 'agent.stderr.log'))}
</dict>
</plist>
`;
}

function platformOf(flags: Record<string, string | boolean | undefined>): Platform {
  const p = flags.platform;
  if (p === undefined) return process.platform === 'darwin' ? 'macos' : 'linux';
  if (p === 'linux' || p === 'macos') return p;
  throw usage(`unknown --platform ${JSON.stringify(String(p).slice(0, 32))}`, 'use linux (a systemd user unit) or macos (a launchd plist)');
}

/** The directories from `dir` up that do not exist yet (outermost last). */
function missingDirs(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) out.push(d);
  return out;
}

/** The directories a service file says install created (its `created-dirs` comment). */
function createdDirs(text: string): string[] {
  const m = /created-dirs:([^\n]*)/.exec(text);
  if (!m) return [];
  return [...m[1]!.replace(/&quot;/g, '"').matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => JSON.parse(`"${x[1]!}"`) as string).filter((d) => path.isAbsolute(d));
}

function readIfExists(p: string): string | null {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

const PLATFORM_FLAG = { platform: { type: 'string', arg: 'linux|macos', help: 'which service file to write (default: this system; macos works anywhere with --dry-run or for a test)' } } as const;

export const install: Command = {
  usage:
    'agent install [--dry-run] [--idle DUR] [--ttl DUR] [--bin PATH] [--platform linux|macos]\n\nexamples:\n  sesame agent install --dry-run\n  sesame agent install --ttl 24h && systemctl --user enable --now sesame-agent',
  summary: 'run the agent as a per-user service (systemd user unit / launchd), unlocking from a non-interactive tier',
  flags: {
    'dry-run': { type: 'boolean', help: 'print the service file and where it would go; write nothing' },
    idle: { type: 'string', arg: 'DUR', help: "the service's agent stops after this long without a request (default 0: never)" },
    ttl: { type: 'string', arg: 'DUR', help: 'the agent stops this long after it starts (default 24h); `agent restart` starts it again' },
    bin: { type: 'string', arg: 'PATH', help: 'the stable path of sesame to run (default: the path it was invoked through)' },
    ...PLATFORM_FLAG,
  },
  async run(ctx, { flags }) {
    const platform = platformOf(flags);
    const idle = typeof flags.idle === 'string' ? flags.idle : '0';
    const ttl = typeof flags.ttl === 'string' ? flags.ttl : '24h';
    parseDuration(idle, 'idle');
    if (parseDuration(ttl, 'ttl') <= 0) throw usage('--ttl must be longer than 0', 'the agent always has an absolute lifetime, e.g. --ttl 24h');
    const { readVault } = await import('../core/vault/store.js');
    readVault(ctx.paths); // NOT_INITIALIZED: nothing to serve
    const tier = await serviceTier(ctx);
    const bin = stableBin(ctx.env, typeof flags.bin === 'string' ? flags.bin : undefined);
    const file = serviceFile(platform, ctx.env);
    const created = missingDirs(path.dirname(file));
    const prior = readIfExists(file);
    if (prior !== null && !prior.includes(MARK))
      throw new SesameError('INVALID', `${file} exists and was not written by sesame; leaving it alone`, { hint: 'move it away first if sesame should manage it' });
    // A rewrite keeps the directories the first install created: uninstall still removes them.
    const dirs = prior !== null ? createdDirs(prior) : created;
    const spec: Spec = {
      bin,
      args: ['agent', 'start', '--idle', idle, '--ttl', ttl],
      env: { SESAME_HOME: ctx.paths.home, PATH: servicePath(), ...tier.env },
      home: ctx.paths.home,
      tier: tier.tier,
      created: dirs,
    };
    const text = platform === 'linux' ? systemdUnit(spec) : launchdPlist(spec);
    if (flags['dry-run']) {
      if (ctx.json) outJson({ file, platform, tier: tier.tier, written: false, content: text });
      else {
        info(`would write ${file} (unlocks from the ${tier.tier} tier):`);
        out(text);
      }
      return 0;
    }
    const changed = prior !== text;
    if (changed) {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const { writeFileAtomic } = await import('../core/fs/secure.js');
      writeFileAtomic(file, text, 0o600);
    }
    const next = platform === 'linux' ? 'systemctl --user daemon-reload && systemctl --user enable --now sesame-agent' : `launchctl bootstrap gui/$(id -u) ${file}`;
    if (ctx.json) outJson({ file, platform, tier: tier.tier, written: changed });
    else info(`${changed ? (prior === null ? 'wrote' : 'updated') : 'unchanged:'} ${file} (unlocks from the ${tier.tier} tier)${changed ? `; start it with: ${next}` : ''}`);
    return 0;
  },
};

export const uninstall: Command = {
  usage: 'agent uninstall [--platform linux|macos]\n\nexample:\n  sesame agent uninstall',
  summary: 'stop and remove the service `agent install` wrote (and the directories it created), nothing else',
  flags: { ...PLATFORM_FLAG },
  async run(ctx, { flags }) {
    const platform = platformOf(flags);
    const file = serviceFile(platform, ctx.env);
    const text = readIfExists(file);
    if (text === null) {
      if (ctx.json) outJson({ file, removed: false });
      else info(`no service installed (${file} does not exist)`);
      return 0;
    }
    if (!text.includes(MARK)) throw new SesameError('INVALID', `${file} was not written by sesame; leaving it alone`, { hint: 'remove it yourself if it is yours to remove' });
    if (platform === 'linux' && hasUserManager(ctx.env)) spawnSync('systemctl', ['--user', 'disable', '--now', UNIT_NAME], { stdio: 'ignore', env: ctx.env });
    if (platform === 'macos' && process.platform === 'darwin') spawnSync('launchctl', ['bootout', `gui/${process.getuid?.() ?? 0}`, file], { stdio: 'ignore' });
    fs.rmSync(file);
    const { fsyncDir } = await import('../core/fs/secure.js');
    fsyncDir(path.dirname(file));
    const removed: string[] = [];
    for (const d of createdDirs(text).sort((a, b) => b.length - a.length)) {
      try {
        fs.rmdirSync(d); // only when empty: anything put there since stays
        removed.push(d);
      } catch {
        /* not empty, or already gone */
      }
    }
    if (ctx.json) outJson({ file, removed: true, dirs_removed: removed });
    else info(`removed ${file}${removed.length ? ` and the director${removed.length === 1 ? 'y' : 'ies'} install created (${removed.join(', ')})` : ''}`);
    return 0;
  },
};

/** True when a systemd user manager answers (`systemctl --user` would work). */
function hasUserManager(env: NodeJS.ProcessEnv): boolean {
  const r = spawnSync('systemctl', ['--user', 'is-system-running'], { stdio: ['ignore', 'pipe', 'ignore'], env, timeout: 5000 });
  return r.error === undefined && r.stdout.length > 0 && !/offline/.test(r.stdout.toString());
}

export const restart: Command = {
  usage: 'agent restart\n\nexample:\n  sesame agent restart',
  summary: 'restart the agent: through the service manager when installed, else stop it and start it in the background',
  flags: {},
  async run(ctx) {
    const platform: Platform = process.platform === 'darwin' ? 'macos' : 'linux';
    const file = serviceFile(platform, ctx.env);
    if (readIfExists(file)?.includes(MARK)) {
      const r =
        platform === 'linux'
          ? hasUserManager(ctx.env)
            ? spawnSync('systemctl', ['--user', 'restart', UNIT_NAME], { stdio: 'inherit', env: ctx.env })
            : null
          : spawnSync('launchctl', ['kickstart', '-k', `gui/${process.getuid?.() ?? 0}/${LAUNCHD_LABEL}`], { stdio: 'inherit' });
      if (r) {
        if (r.status !== 0)
          throw new SesameError('ERROR', `the service manager could not restart the agent (exit ${String(r.status)})`, {
            hint: platform === 'linux' ? `see: journalctl --user -u ${UNIT_NAME}` : 'see: launchctl print gui/$(id -u)/sesame.agent',
          });
        if (ctx.json) outJson({ restarted: true, via: 'service' });
        else info('restarted the agent service');
        return 0;
      }
      warn(`the service ${file} is installed but no systemd user manager answers; restarting the agent directly`);
    }
    const { stopHomeAgent } = await import('./agent-stop.js');
    await stopHomeAgent(ctx);
    const r = spawnSync(process.execPath, [process.argv[1] ?? '', 'agent', 'start', '--background'], { stdio: 'inherit', env: ctx.env });
    if (r.status !== 0) return r.status ?? 1;
    if (ctx.json) outJson({ restarted: true, via: 'direct' });
    return 0;
  },
};

export const logs: Command = {
  usage: 'agent logs [--follow] [--file]\n\nexamples:\n  sesame agent logs\n  sesame agent logs --follow',
  summary: "the agent's log: the journal when the service is installed, else the agent log file",
  flags: {
    follow: { type: 'boolean', short: 'f', help: 'keep printing new lines' },
    file: { type: 'boolean', help: 'read the agent log file even when the service is installed' },
  },
  async run(ctx, { flags }) {
    const follow = flags.follow === true;
    const unit = serviceFile('linux', ctx.env);
    // The journal only when the unit is installed AND a user manager runs it; else the file, which the agent always writes.
    const journal =
      process.platform === 'linux' &&
      flags.file !== true &&
      readIfExists(unit)?.includes(MARK) === true &&
      spawnSync('journalctl', ['--version'], { stdio: 'ignore' }).status === 0 &&
      hasUserManager(ctx.env);
    const [cmd, args] = journal
      ? ['journalctl', ['--user', '-u', UNIT_NAME, '--no-pager', ...(follow ? ['-f'] : ['-n', '200'])]]
      : ['tail', ['-n', '200', ...(follow ? ['-F'] : []), ctx.paths.agentLog]];
    if (!journal && !follow && !fs.existsSync(ctx.paths.agentLog)) {
      info(`no agent log yet (${ctx.paths.agentLog})`);
      return 0;
    }
    return new Promise<number>((resolve) => {
      const p = spawn(cmd, args, { stdio: 'inherit', env: ctx.env });
      p.on('error', (e) => {
        warn(`cannot run ${cmd}: ${e.message}`);
        resolve(1);
      });
      p.on('close', (code) => {
        resolve(code ?? 0);
      });
    });
  },
};
