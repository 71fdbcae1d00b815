/**
 * `sesame doctor [--json]`: everything that makes sesame work or fail here, checked without
 * reading any secret (no passphrase is asked for, no key derived, no value decrypted): the
 * home and its files (modes, owners), the vault's metadata, the unlock tiers, the agent,
 * the kernel's ptrace_scope and memfd_secret, the audit log's chain head, the project this
 * directory chooses, and the tools the hooks use. Each line has a status and, for every
 * problem, the exact remedy. Exit 1 when something is broken (a `fail`), else 0.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from '../command.js';
import type { Ctx } from '../context.js';
import { SesameError } from '../../core/errors.js';
import { json, out } from '../output.js';

type Status = 'ok' | 'info' | 'warn' | 'fail';

/** One line of the report; `remedy` is null when there is nothing to do. */
interface Check {
  check: string;
  status: Status;
  message: string;
  remedy: string | null;
}

const q = (p: string): string => `'${p.replace(/'/g, `'\\''`)}'`;

function line(check: string, status: Status, message: string, remedy: string | null = null): Check {
  return { check, status, message, remedy };
}

/** The home directory and every file and directory in it (two levels), by mode and owner. */
function homeChecks(ctx: Ctx): Check[] {
  const home = ctx.paths.home;
  const uid = process.getuid?.() ?? -1;
  let st: fs.Stats;
  try {
    st = fs.lstatSync(home);
  } catch {
    return [line('home', 'fail', `${home} does not exist`, 'run `sesame init` to create it (or pass --home / set SESAME_HOME)')];
  }
  if (!st.isDirectory()) return [line('home', 'fail', `${home} is not a directory`, `move it away (mv ${q(home)} ${q(`${home}.old`)}), then run \`sesame init\``)];
  const problems: Check[] = [];
  const visit = (p: string, s: fs.Stats, depth: number): void => {
    if (uid >= 0 && s.uid !== uid) problems.push(line('files', 'fail', `${p} is owned by uid ${s.uid}, not by you (uid ${uid})`, `sudo chown ${uid} ${q(p)}`));
    if (s.isSymbolicLink()) {
      problems.push(line('files', 'warn', `${p} is a symlink; sesame never follows one in its home`, `replace it with the real file: rm ${q(p)} (after checking what it pointed to)`));
      return;
    }
    const loose = s.mode & 0o077;
    if (loose) {
      const want = s.isDirectory() ? '700' : '600';
      problems.push(line('files', 'fail', `${p} has mode ${(s.mode & 0o777).toString(8)}: group or others may access it`, `chmod ${want} ${q(p)}`));
    }
    if (s.isDirectory() && depth < 2) {
      let names: string[] = [];
      try {
        names = fs.readdirSync(p).slice(0, 2000);
      } catch {
        problems.push(line('files', 'fail', `${p} cannot be listed`, `check its owner and mode: ls -ld ${q(p)}`));
      }
      for (const n of names) {
        try {
          visit(path.join(p, n), fs.lstatSync(path.join(p, n)), depth + 1);
        } catch {
          /* gone meanwhile */
        }
      }
    }
  };
  visit(home, st, 0);
  return [line('home', 'ok', `${home} (yours, mode ${(st.mode & 0o777).toString(8)})`), ...(problems.length ? problems : [line('files', 'ok', 'every file in the home is yours and private')])];
}

/** The vault's public metadata (no key). */
async function vaultCheck(ctx: Ctx): Promise<{ check: Check; projects: string[] | null }> {
  try {
    const { readVault } = await import('../../core/vault/store.js');
    const doc = readVault(ctx.paths);
    const projects = Object.keys(doc.projects);
    const keys = projects.reduce((n, p) => n + Object.keys(doc.projects[p]!.entries).length, 0);
    return { check: line('vault', 'ok', `${ctx.paths.vault}: format ${doc.version}, ${projects.length} project${projects.length === 1 ? '' : 's'}, ${keys} key${keys === 1 ? '' : 's'}`), projects };
  } catch (e) {
    const err = e instanceof SesameError ? e : new SesameError('ERROR', String(e));
    return { check: line('vault', 'fail', err.message, err.hint ?? 'see `sesame status`'), projects: null };
  }
}

const TIER_REMEDY: Readonly<Record<string, string>> = {
  env: 'unset SESAME_PASSPHRASE, or set it to the passphrase',
  file: 'point SESAME_PASSPHRASE_FILE at a 0600 file of yours holding the passphrase (chmod 600 FILE), or unset it',
  session: 'run `sesame lock`, then `sesame unlock`',
  sealed: 'seal it again on this machine (`sesame passphrase seal`), or remove it (`sesame passphrase destroy`)',
  keyring: 'store it again (`sesame passphrase to-keyring`), or remove it (`sesame passphrase destroy`)',
  command: 'fix passphrase_command in config.toml (run it by hand to see what it prints)',
};

async function tierChecks(ctx: Ctx): Promise<Check[]> {
  try {
    const { probeChain } = await import('../../core/passphrase/chain.js');
    const tiers = await probeChain(await ctx.chain());
    const lines = tiers.map((t) =>
      t.state === 'present'
        ? line(`unlock.${t.tier}`, 'ok', `present${t.detail ? `: ${t.detail}` : ''}`)
        : t.state === 'unusable'
          ? line(`unlock.${t.tier}`, 'fail', `unusable: ${t.detail ?? 'it cannot give a passphrase'}`, TIER_REMEDY[t.tier] ?? 'see `sesame status`')
          : line(`unlock.${t.tier}`, 'info', `absent${t.detail ? ` (${t.detail})` : ''}`),
    );
    if (!tiers.some((t) => t.state === 'present')) {
      lines.push(
        line(
          'unlock',
          'warn',
          'nothing can unlock the vault here without a terminal',
          'run `sesame unlock` in a terminal, start the agent, or set up a tier (`sesame passphrase seal` / `sesame passphrase to-keyring`)',
        ),
      );
    }
    return lines;
  } catch (e) {
    const err = e instanceof SesameError ? e : new SesameError('ERROR', String(e));
    return [line('unlock', 'fail', err.message, err.hint ?? 'see `sesame status`')];
  }
}

async function agentChecks(ctx: Ctx): Promise<Check[]> {
  const { agentStatusBlock } = await import('../agent-status.js');
  const b = await agentStatusBlock(ctx);
  const sock = ctx.paths.agentSock;
  if (!b.running) {
    let stale = false;
    try {
      stale = fs.lstatSync(sock).isSocket();
    } catch {
      /* nothing there */
    }
    if (stale) return [line('agent', 'warn', `not running, but a dead socket is left at ${sock}`, `\`sesame agent start\` replaces it; or remove it: rm ${q(sock)}`)];
    return [line('agent', 'info', 'not running (reads unlock directly)', null)];
  }
  if (!b.accessible) {
    const e = b.error as { message?: string; hint?: string } | undefined;
    return [
      line('agent', 'fail', `running (pid ${String(b.pid)}) but not reachable: ${e?.message ?? 'no answer'}`, e?.hint ?? 'see `sesame agent status`; restart it: `sesame agent start --replace`'),
    ];
  }
  const out: Check[] = [line('agent', 'ok', `running (pid ${String(b.pid)}), reachable on ${String(b.socket)}, sesame ${String(b.version)}, protocol ${String(b.protocol)}`)];
  const h = b.hardening as Record<string, unknown> | undefined;
  if (h) {
    const bad = [h.dumpable !== 0 && 'dumpable', h.core_limit !== 0 && 'core files allowed', h.inspector_disabled !== true && 'inspector not disabled'].filter(Boolean);
    out.push(
      bad.length
        ? line('agent.hardening', 'fail', `not hardened: ${bad.join(', ')}`, 'restart it with this sesame: `sesame agent start --replace`')
        : line('agent.hardening', 'ok', `not dumpable, no core file, inspector disabled, key mlocked: ${h.key_mlocked ? 'yes' : 'no'}`),
    );
  } else out.push(line('agent.hardening', 'warn', 'the agent does not report its hardening (an older version)', 'restart it with this sesame: `sesame agent start --replace`'));
  out.push(line('agent.session', 'info', b.session === true ? 'bound to the shell that started it (--session)' : 'not session-bound: every process of yours may ask it'));
  const ls = Array.isArray(b.listeners) ? (b.listeners as Array<Record<string, unknown>>) : [];
  out.push(
    line('agent.listeners', 'info', ls.length ? ls.map((l) => `${String(l.kind)}${typeof l.name === 'string' ? ` ${l.name}` : ''} ${String(l.socket)}`).join('; ') : `owner ${String(b.socket)}`),
  );
  return out;
}

function kernelChecks(): Check[] {
  const out: Check[] = [];
  if (process.platform !== 'linux') return [line('kernel', 'info', `${process.platform}: ptrace_scope and memfd_secret are Linux checks`)];
  let scope: string | null = null;
  try {
    scope = fs.readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim();
  } catch {
    /* no Yama */
  }
  if (scope === null)
    out.push(
      line(
        'ptrace_scope',
        'warn',
        'Yama is not enabled: only non-dumpability keeps other processes of yours out of sesame',
        'enable Yama (CONFIG_SECURITY_YAMA), then: sudo sysctl kernel.yama.ptrace_scope=1',
      ),
    );
  else if (scope === '0')
    out.push(
      line('ptrace_scope', 'warn', '0: any process of yours may trace another (sesame still makes itself non-dumpable)', 'sudo sysctl kernel.yama.ptrace_scope=1 (and in /etc/sysctl.d/ to keep it)'),
    );
  else out.push(line('ptrace_scope', 'ok', `${scope}: a process may trace only its descendants${scope !== '1' ? ' (or nothing)' : ''}`));
  return out;
}

/** memfd_secret(2): memory even the kernel's direct map does not show. Checked by creating (and closing) one. */
async function memfdCheck(): Promise<Check> {
  if (process.platform !== 'linux' || !['x64', 'arm64', 'riscv64'].includes(process.arch)) return line('memfd_secret', 'info', `not checked on ${process.platform}/${process.arch}`);
  try {
    const { syscall, errno } = await import('../../core/os/native.js');
    const fd = syscall(447, 0);
    if (fd >= 0) {
      fs.closeSync(fd);
      return line('memfd_secret', 'ok', 'available');
    }
    const e = errno();
    return line(
      'memfd_secret',
      'info',
      `not available (errno ${e}${e === 38 ? ': ENOSYS, off in this kernel' : ''}); sesame uses mlocked guarded memory`,
      e === 38 ? 'optional: boot with secretmem.enable=1 on a kernel built with CONFIG_SECRETMEM' : null,
    );
  } catch (e) {
    return line('memfd_secret', 'info', `not checked: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function auditCheck(ctx: Ctx): Promise<Check> {
  try {
    const { auditFiles } = await import('../../core/audit/log.js');
    const { chainHead, formatHead, verifyChain } = await import('../../core/audit/verify.js');
    const files = auditFiles(ctx.paths.home);
    const head = chainHead(files);
    if (!head) return line('audit', 'info', 'the audit log is empty');
    const r = verifyChain(files); // the chain only: record MACs need the vault key (`sesame audit verify`)
    if (r.bad) return line('audit', 'fail', `chain broken at ${r.bad.file} line ${r.bad.line}: ${r.bad.why}`, 'run `sesame audit verify` for the details; keep the files as evidence');
    return line('audit', 'ok', `chain intact, ${r.records} record${r.records === 1 ? '' : 's'}, head ${formatHead(head)} (anchor it: \`sesame audit head\`)`);
  } catch (e) {
    const err = e instanceof SesameError ? e : new SesameError('ERROR', String(e));
    return line('audit', 'fail', err.message, err.hint ?? 'run `sesame audit verify` for the details');
  }
}

function projectCheck(ctx: Ctx, projects: string[] | null): Check {
  try {
    const p = ctx.project();
    const from = p.file ?? p.source;
    if (projects && !projects.includes(p.name)) return line('project', 'fail', `${p.name} (from ${from}) does not exist in the vault`, `sesame projects create ${p.name}`);
    return line('project', 'ok', `${p.name} (from ${from})`);
  } catch (e) {
    const err = e instanceof SesameError ? e : new SesameError('ERROR', String(e));
    return line('project', 'fail', err.message, err.hint ?? 'check .sesame.toml and SESAME_PROJECT');
  }
}

function onPath(tool: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, tool);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return null;
}

function toolChecks(env: NodeJS.ProcessEnv): Check[] {
  const shells = ['bash', 'zsh', 'fish'].filter((s) => onPath(s, env));
  const direnv = onPath('direnv', env);
  return [
    line('hooks.shells', shells.length ? 'ok' : 'info', shells.length ? `${shells.join(', ')} (\`sesame hook ${shells[0]!}\`)` : 'no bash, zsh or fish on PATH'),
    line('hooks.direnv', direnv ? 'ok' : 'info', direnv ? `${direnv} (\`sesame hook direnv\`)` : 'direnv is not installed (needed only for `sesame hook direnv`)'),
  ];
}

const MARK: Readonly<Record<Status, string>> = { ok: 'ok  ', info: 'info', warn: 'WARN', fail: 'FAIL' };

const cmd: Command = {
  usage: 'doctor [--json]\n\nexample:\n  sesame doctor',
  summary: 'check this setup without reading any secret: files, vault, unlock tiers, agent, kernel, audit log, project, hook tools (exit 1 when something is broken)',
  flags: {},
  async run(ctx) {
    const checks: Check[] = [...homeChecks(ctx)];
    const v = await vaultCheck(ctx);
    checks.push(v.check, ...(await tierChecks(ctx)), ...(await agentChecks(ctx)), ...kernelChecks(), await memfdCheck(), await auditCheck(ctx), projectCheck(ctx, v.projects), ...toolChecks(ctx.env));
    const broken = checks.filter((c) => c.status === 'fail').length;
    if (ctx.json) json({ ok: broken === 0, problems: checks.filter((c) => c.status === 'fail' || c.status === 'warn').length, checks });
    else {
      const lines = checks.map((c) => `${MARK[c.status]}  ${c.check.padEnd(16)} ${c.message}${c.remedy && c.status !== 'ok' ? `\n      ${''.padEnd(16)} fix: ${c.remedy}` : ''}`);
      lines.push('', broken ? `${broken} problem${broken === 1 ? '' : 's'} to fix (FAIL lines)` : 'nothing broken');
      out(`${lines.join('\n')}\n`);
    }
    return broken ? 1 : 0;
  },
};
export default cmd;
