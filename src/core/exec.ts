/**
 * Building a child's environment and finding its executable, for `run`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkSecretEnvName } from './envnames.js';
import { SesameError } from './errors.js';

/**
 * The child's environment: ours minus every SESAME_* control variable (passphrase,
 * passphrase file, tokens, home, socket…), plus the secrets (which win). Entries are
 * Buffers "KEY=value" so values never become strings; the caller wipes them.
 *
 * Every secret's name is checked first (envnames.ts): a name that is not a key name, or
 * one that changes how programs load or start (LD_PRELOAD, NODE_OPTIONS, BASH_ENV, PATH…),
 * is INVALID and nothing is built — the same rule whether the secrets came from the vault
 * or from an agent.
 */
export function childEnv(env: NodeJS.ProcessEnv, secrets: Array<[string, Buffer]>): Buffer[] {
  for (const [k] of secrets) checkSecretEnvName(k);
  const names = new Set(secrets.map(([k]) => k));
  const out: Buffer[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || k.startsWith('SESAME_') || names.has(k)) continue;
    out.push(Buffer.from(`${k}=${v}`, 'utf8'));
  }
  for (const [k, v] of secrets) {
    if (v.includes(0)) throw new SesameError('INVALID', `the value of ${k} contains a NUL byte and cannot be an environment variable`);
    out.push(Buffer.concat([Buffer.from(`${k}=`), v]));
  }
  return out;
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Resolves a command like execvp: a name with a slash as is, else the first executable on PATH. */
export function resolveCommand(cmd: string, pathVar: string | undefined): { path: string } | { error: 'not-found' | 'not-executable' } {
  const isExec = (p: string): boolean | 'noexec' => {
    try {
      const st = fs.statSync(p);
      if (!st.isFile()) return false;
      fs.accessSync(p, fs.constants.X_OK);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EACCES' ? 'noexec' : false;
    }
  };
  if (cmd.includes('/')) {
    if (isDirectory(cmd)) return { error: 'not-executable' }; // like a shell: 126, "is a directory"
    const r = isExec(cmd);
    return r === true ? { path: cmd } : { error: r === 'noexec' ? 'not-executable' : 'not-found' };
  }
  let sawNoExec = false;
  for (const dir of (pathVar ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const p = path.join(dir || '.', cmd);
    const r = isExec(p);
    if (r === true) return { path: p };
    if (r === 'noexec') sawNoExec = true;
  }
  return { error: sawNoExec ? 'not-executable' : 'not-found' };
}
