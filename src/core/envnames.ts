/**
 * Which names a secret may set in an environment — the one rule for `run` (the child's
 * environment) and `env` (a document made to become one), whatever the secret came from:
 * the vault directly or an agent.
 *
 * A secret may set any valid key name except those that change how programs load or start
 * rather than what they read: the dynamic loader (LD_*, DYLD_*, glibc's other "unsecure"
 * variables), shell start-up (BASH_ENV, ENV, PS4, PROMPT_COMMAND, …), interpreter options
 * and module paths (NODE_OPTIONS, PYTHONSTARTUP, PERL5OPT, JAVA_TOOL_OPTIONS, …) and PATH.
 * Any of these set from a secret runs code chosen by whoever wrote the secret, in every
 * program the command starts — an agent impostor or an imported .env file could do it.
 *
 * Residual: programs with their own hooks (GIT_SSH_COMMAND, EDITOR, PAGER, …) are not
 * listed; a secret can still steer those.
 */
import { SesameError } from './errors.js';
import { isValidKeyName } from './names.js';

const UNSAFE_PREFIXES = ['LD_', 'DYLD_'];
const UNSAFE = new Set([
  // glibc's list of variables ignored for setuid programs (the loader and libc run them)
  'GCONV_PATH',
  'GETCONF_DIR',
  'HOSTALIASES',
  'LOCALDOMAIN',
  'LOCPATH',
  'MALLOC_TRACE',
  'NIS_PATH',
  'NLSPATH',
  'RESOLV_HOST_CONF',
  'RES_OPTIONS',
  'TZDIR',
  // shells
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'IFS',
  'ZDOTDIR',
  // interpreters and runtimes
  'NODE_OPTIONS',
  'NODE_PATH',
  'PYTHONSTARTUP',
  'PYTHONPATH',
  'PYTHONHOME',
  'PERL5OPT',
  'PERL5LIB',
  'PERLLIB',
  'PERL5DB',
  'RUBYOPT',
  'RUBYLIB',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  // where commands are found
  'PATH',
]);

/** True for a name no secret may set in an environment (see the module comment). */
export function isUnsafeEnvName(name: string): boolean {
  return UNSAFE.has(name) || UNSAFE_PREFIXES.some((p) => name.startsWith(p));
}

/**
 * Throws INVALID unless `name` may be set from a secret: a valid key name that is not
 * unsafe. The message names the key only when it is a valid key name.
 */
export function checkSecretEnvName(name: string): void {
  if (!isValidKeyName(name)) {
    throw new SesameError('INVALID', 'a secret has a name that is not a valid key name, so it cannot be an environment variable', { hint: 'key names match [A-Za-z_][A-Za-z0-9_]*' });
  }
  if (isUnsafeEnvName(name)) {
    throw new SesameError('INVALID', `refusing to set ${name} from a secret: it changes how programs load or start (it could run code in every program the command starts)`, {
      hint: `rename the key (set NEW_NAME, then rm ${name}), or leave it out with --only or --prefix`,
      detail: { key: name },
    });
  }
}
