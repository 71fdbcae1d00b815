/**
 * Which program an exec runs: the agent resolves argv[0] itself, on a fixed PATH (never the
 * caller's), to an absolute real path (every symlink followed), and checks that path against
 * the profile's `commands` allowlist as pinned when the policy was loaded.
 *
 * Allowlist entries are absolute, normalised paths (policy/profiles.ts). Each is realpath'd
 * ONCE, when the agent loads (or reloads) the policy (`pinCommands`): an entry that is a
 * symlink allows the program it named at load time; a symlink swapped afterwards points at a
 * program whose real path is not pinned, and is refused. An entry that cannot be resolved at
 * load allows nothing. The owner socket has no allowlist.
 *
 * Nothing here is secret.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SesameError } from '../../errors.js';
import type { Policy } from '../../policy/authorize.js';
import type { Profile } from '../../policy/profiles.js';

/** The PATH the agent resolves names on and gives the child (the caller's is never used). */
export const EXEC_PATH = '/usr/local/bin:/usr/bin:/bin';

const pinned = new WeakMap<object, ReadonlySet<string>>();

/**
 * Realpaths every profile's `commands` now and keeps them with the profile object (call at
 * each policy load and reload; idempotent for a profile already pinned). Never throws.
 */
export function pinCommands(policy: Policy): void {
  for (const p of policy.profiles.values()) {
    if (pinned.has(p)) continue;
    const set = new Set<string>();
    for (const c of (p as Partial<Profile>).commands ?? []) {
      try {
        set.add(fs.realpathSync(c));
      } catch {
        /* unresolvable at load: allows nothing */
      }
    }
    pinned.set(p, set);
  }
}

/** The real paths `profile` may run (pinned at load; pinned now if the profile was never seen). */
export function allowedCommands(profile: Profile): ReadonlySet<string> {
  let s = pinned.get(profile);
  if (!s) {
    pinCommands({ profiles: new Map([['_', profile]]) } as unknown as Policy);
    s = pinned.get(profile) ?? new Set<string>();
  }
  return s;
}

/** Why a program cannot run; `reason` goes to `detail.reason` and to `check`. */
export type ResolveFailure = 'not_found' | 'not_executable' | 'not_allowed_command';

/**
 * argv[0] → the absolute real path of an executable regular file: a name with a slash must be
 * absolute (a relative path would depend on the caller's idea of cwd) and is taken as is; a
 * bare name is looked up on `dirs` like execvp. Then realpath.
 */
export function resolveProgram(name: string, dirs: string = EXEC_PATH): { real: string } | { error: ResolveFailure } {
  const ok = (p: string): 'yes' | 'noexec' | 'no' => {
    try {
      const st = fs.statSync(p);
      if (!st.isFile()) return 'no';
      fs.accessSync(p, fs.constants.X_OK);
      return 'yes';
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EACCES' ? 'noexec' : 'no';
    }
  };
  const real = (p: string): { real: string } | { error: ResolveFailure } => {
    try {
      return { real: fs.realpathSync(p) };
    } catch {
      return { error: 'not_found' };
    }
  };
  if (name.includes('/')) {
    if (!path.isAbsolute(name)) return { error: 'not_found' };
    const r = ok(name);
    return r === 'yes' ? real(name) : { error: r === 'noexec' ? 'not_executable' : 'not_found' };
  }
  let noexec = false;
  for (const d of dirs.split(':')) {
    if (!path.isAbsolute(d)) continue; // an empty or relative entry would mean the cwd
    const p = path.join(d, name);
    const r = ok(p);
    if (r === 'yes') return real(p);
    if (r === 'noexec') noexec = true;
  }
  return { error: noexec ? 'not_executable' : 'not_found' };
}

/**
 * The decision for running argv[0] from `profile` (undefined: the owner, no allowlist):
 * the resolved real path, or why not. The real path is re-checked to be executable (a
 * symlink to a non-executable file fails here).
 */
export function decideProgram(name: string, profile: Profile | undefined): { real: string } | { error: ResolveFailure } {
  const r = resolveProgram(name);
  if ('error' in r) return r;
  if (profile && !allowedCommands(profile).has(r.real)) return { error: 'not_allowed_command' };
  return r;
}

/** The SesameError an exec answers for a failure (never names a secret). */
export function programError(name: string, why: ResolveFailure): SesameError {
  const shown = JSON.stringify(name.slice(0, 128));
  if (why === 'not_allowed_command')
    return new SesameError('DENIED', `denied: ${shown} is not a command this profile may run`, {
      hint: 'ask the owner to add its absolute path to the profile `commands`',
      detail: { reason: 'not_allowed_command' },
    });
  if (why === 'not_executable') return new SesameError('DENIED', `permission denied: ${shown}`, { hint: 'the file is not executable by the agent', detail: { reason: 'not_executable' } });
  return new SesameError('NOT_FOUND', `command not found: ${shown}`, { hint: `the agent looks names up on ${EXEC_PATH}; give an absolute path`, detail: { reason: 'not_found' } });
}
