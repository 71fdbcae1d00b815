/**
 * The CLI's words for the core's remedies: the core says what kind of fix an error needs
 * (`SesameError.remedy`, parameters in `detail`) and this module says it as the sesame
 * commands a user types. output.ts installs `renderRemedy` for the whole process, so the
 * agent this CLI runs puts the same text in its wire errors (the v1 vectors hold it).
 * `ioHint` does the same for I/O errors, by errno. Never suggests loosening a permission.
 */
import type { ErrorCode, Remedy } from '../core/errors.js';
import { DEFAULT_PROJECT } from '../core/names.js';

const WRONG_PASSPHRASE_BY_TIER: Readonly<Record<string, string>> = {
  session: 'run `sesame lock`, then `sesame unlock` with the right passphrase',
  sealed: 'seal the right passphrase again (`sesame passphrase seal`) or remove it (`sesame passphrase destroy`)',
  keyring: 'store the right passphrase (`sesame passphrase to-keyring`) or remove it (`sesame passphrase destroy`)',
};

const FIXED: Readonly<Record<Exclude<Remedy, 'rm_keys' | 'wrong_passphrase' | 'project_create' | 'key_history' | 'rm_then_purge'>, string>> = {
  init: 'run `sesame init` to create one (or pass --home / set SESAME_HOME)',
  init_home: 'run `sesame init` first',
  status: 'see `sesame status`',
  list_keys: 'see `sesame list`',
  projects_list: 'see `sesame projects list`',
  projects_create: 'see `sesame projects list`, or create it with `sesame projects create NAME`',
  import_lenient: 'fix those lines (quote values that contain # or span lines), or pass --lenient to import the rest and skip them',
  agent_start: 'start it again with `sesame agent start`',
  agent_restart: 'the vault was re-initialised: run `sesame agent stop`, then `sesame agent start`',
  agent_upgrade:
    'restart your agent with this sesame version (`sesame agent stop`, then `sesame agent start`); if that does not help, something else answers on its socket — use --no-agent and check what listens there',
  agent_running: 'see `sesame agent status`; stop it with `sesame agent stop`',
  agent_socket_taken: 'stop it with `sesame agent stop`, or set SESAME_AGENT_SOCK to another path',
  agent_status: 'see `sesame agent status`; --no-agent bypasses the agent',
  unlock_from_terminal: 'start the agent from a terminal (`sesame agent start`), run `sesame unlock` in a terminal, or set SESAME_PASSPHRASE_FILE to a 0600 file',
  passphrase_reseal: 'seal it again on this machine (`sesame passphrase seal`), or remove it (`sesame passphrase destroy`) to use the other sources',
  project_copy_keys: 'copy its keys to another project with `sesame cp KEY --to-project NAME`',
  agent_writes: 'run `sesame agent stop`, then `sesame agent start --writes`; or run this on a terminal, or give a passphrase source',
  passphrase_acknowledge: 'store it somewhere safe (`sesame passphrase reveal`), then run `sesame passphrase acknowledge`; or pass --yes',
};

/**
 * The hint text for a remedy, in the CLI's words; parameters from `detail` (`project` for
 * rm_keys and project_create, `tier` for wrong_passphrase). Undefined for a remedy this CLI has no words for
 * (a newer core): the error's message still stands. Never throws.
 */
export function renderRemedy(remedy: Remedy, detail: Readonly<Record<string, unknown>>): string | undefined {
  if (remedy === 'rm_keys') {
    const project = typeof detail.project === 'string' ? detail.project : DEFAULT_PROJECT;
    return `remove its keys one by one with \`sesame rm KEY --project ${project}\` if you want it empty`;
  }
  if (remedy === 'key_history') return `\`sesame history${typeof detail.key === 'string' ? ` ${detail.key}` : ''}\` lists the versions and removed keys kept`;
  if (remedy === 'rm_then_purge') {
    const k = typeof detail.key === 'string' ? detail.key : 'KEY';
    return `run \`sesame rm ${k}\` first, then \`sesame purge ${k}\``;
  }
  if (remedy === 'project_create') return typeof detail.project === 'string' ? `create it with \`sesame projects create ${detail.project}\`` : FIXED.projects_create;
  if (remedy === 'wrong_passphrase') return typeof detail.tier === 'string' && Object.hasOwn(WRONG_PASSPHRASE_BY_TIER, detail.tier) ? WRONG_PASSPHRASE_BY_TIER[detail.tier] : undefined;
  return Object.hasOwn(FIXED, remedy) ? FIXED[remedy] : undefined;
}

/**
 * What to do about an I/O error, by errno (`detail.errno` of core's ioError). The core says
 * what happened; this says what the user can do, in the CLI's words. Never suggests loosening
 * a permission. Undefined for an errno it has no advice for.
 */
export function ioHint(detail: Readonly<Record<string, unknown>>): string | undefined {
  const p = typeof detail.path === 'string' ? detail.path : undefined;
  const where = p ? ` '${p}'` : '';
  if (detail.written === true) {
    return 'the new contents are in place, but the storage failed to confirm them: check the disk (dmesg), and after a crash or power loss check that the change is still there before relying on it';
  }
  switch (detail.errno) {
    case 'ENOSPC':
      return `free some space on that file system (see: df -h${where}), then run the command again`;
    case 'EDQUOT':
      return 'free some space within your disk quota (see: quota -s), or ask your administrator for more, then run the command again';
    case 'EACCES':
    case 'EPERM':
      return `check the owner and permissions of${where || ' the path'} and every directory above it (ls -ld), or use a --home (SESAME_HOME) you own`;
    case 'EROFS':
      return 'that file system is mounted read-only: remount it read-write, or use a --home (SESAME_HOME) on a writable file system';
    case 'ELOOP':
      return `a symlink on that path points back at itself: look at${where || ' the path'} and the directories above it (ls -l) and replace the loop with a real file or directory`;
    case 'EIO':
      return "the disk or file system reported a failure: check it (dmesg, the device's health) and keep a backup of your vault before trying again";
    case 'EMFILE':
    case 'ENFILE':
      return 'close some programs or raise the open-file limit (ulimit -n), then run the command again';
    case 'ENOTDIR':
    case 'EISDIR':
    case 'ENAMETOOLONG':
      return 'check the path (and SESAME_HOME / --home)';
    case 'ENOMEM':
      return 'free some memory, then run the command again';
    default:
      return undefined;
  }
}

/**
 * The hint for an error that names none itself, by code, so that every error the CLI
 * reports says what to do next (output.ts). Specific hints, given where the error is made,
 * always win over these.
 */
export const DEFAULT_HINTS: Readonly<Record<ErrorCode, string>> = {
  ERROR: 'run the command again; if it keeps failing, `sesame doctor` checks this setup and names the fix',
  USAGE: 'see `sesame --help`',
  LOCKED: FIXED.unlock_from_terminal,
  NOT_FOUND: 'see `sesame list` and `sesame projects list`',
  NOT_INITIALIZED: FIXED.init,
  WRONG_PASSPHRASE: 'type the passphrase again; `sesame doctor` shows which unlock tiers are in use',
  BUSY: 'another sesame command holds the vault: wait for it to finish, then run the command again',
  DENIED: 'see `sesame whoami` for what this caller may do',
  INTEGRITY: 'the file was damaged or modified outside sesame: restore it from a backup (`sesame doctor` shows which)',
  INSECURE: 'fix the owner or mode named above (`sesame doctor` prints the exact command)',
  INVALID: 'correct the input named above and run the command again',
  KEY_CHANGED: FIXED.agent_restart,
  PROTOCOL: FIXED.agent_upgrade,
  UNAVAILABLE: '`sesame doctor` shows what is missing or not running here',
};
