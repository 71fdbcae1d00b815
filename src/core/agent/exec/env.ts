/**
 * The environment of an exec's child, merged in this order: a minimal base taken from the
 * agent's own environment (BASE_NAMES, `LC_*`), PATH fixed to the exec PATH; then the
 * profile's `env`; then the secrets in scope (which win). Hardening last, always: no
 * `SESAME_*` name and no name that changes how programs load or start (envnames.ts:
 * LD_*, DYLD_*, BASH_ENV, ENV, NODE_OPTIONS, PYTHONSTARTUP, PERL5OPT, RUBYOPT, …) passes,
 * whoever set it; PATH is always EXEC_PATH. The caller's environment is never consulted.
 *
 * Entries are "NAME=value" Buffers; every entry that holds a secret is off-heap
 * (bytes.ts allocSecret) and the caller wipes them all right after the spawn.
 */
import { allocSecret } from '../../bytes.js';
import { checkSecretEnvName, isUnsafeEnvName } from '../../envnames.js';
import { SesameError } from '../../errors.js';
import { EXEC_PATH } from './resolve.js';

/** Names the base takes from the agent's environment (plus every `LC_*`). */
export const BASE_NAMES: readonly string[] = ['HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TERM', 'TZ', 'SHELL', 'TMPDIR', 'COLORTERM', 'NO_COLOR'];

/** True for a name that never reaches a child: `SESAME_*` and the loader/start-up hooks. */
export function isBlockedName(name: string): boolean {
  return name.startsWith('SESAME_') || (name !== 'PATH' && isUnsafeEnvName(name));
}

/**
 * The child's environment (see the module comment). `base`: the agent's own environment;
 * `profileEnv`: the profile's table (names already validated at load, checked again here);
 * `secrets`: name → value Buffers the caller owns. `term` overrides TERM (a pty's client).
 * Throws INVALID (nothing built) for a secret whose name may not be set or whose value holds NUL.
 */
export function execEnv(base: NodeJS.ProcessEnv, profileEnv: ReadonlyMap<string, string> | undefined, secrets: ReadonlyArray<readonly [string, Buffer]>, term?: string): Buffer[] {
  for (const [k, v] of secrets) {
    checkSecretEnvName(k);
    if (v.includes(0)) throw new SesameError('INVALID', `the value of ${k} contains a NUL byte and cannot be an environment variable`, { detail: { key: k } });
  }
  const plain = new Map<string, string>();
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined || !(BASE_NAMES.includes(k) || k.startsWith('LC_'))) continue;
    plain.set(k, v);
  }
  if (term !== undefined) plain.set('TERM', term);
  for (const [k, v] of profileEnv ?? []) plain.set(k, v);
  plain.set('PATH', EXEC_PATH);
  const names = new Set(secrets.map(([k]) => k));
  const out: Buffer[] = [];
  for (const [k, v] of plain) {
    if (isBlockedName(k) || names.has(k)) continue;
    out.push(Buffer.from(`${k}=${v}`, 'utf8'));
  }
  for (const [k, v] of secrets) {
    if (isBlockedName(k)) continue;
    const e = allocSecret(k.length + 1 + v.length);
    e.write(`${k}=`, 0, 'latin1');
    v.copy(e, k.length + 1);
    out.push(e);
  }
  return out;
}
