/**
 * What a lock wait says and records, set by the process that hosts the core (the CLI) and
 * read by fs/lock.ts. Imports nothing, so the CLI sets it without loading the native layer.
 */

/** Who holds a lock, as its file records it: the pid (first line) and the command (second line), each null when not recorded. */
export interface LockHolderInfo {
  pid: number | null;
  command: string | null;
}

/** Told once, after LOCK_WAIT_NOTICE_MS of waiting, who holds a lock (the CLI prints it). */
export type LockWaitReporter = (holder: LockHolderInfo, what: string) => void;

/** How long a wait lasts before the reporter is told (ms). */
export const LOCK_WAIT_NOTICE_MS = 1000;

/** The command recorded in the locks this process takes, and the reporter of long waits (see the setters). */
export const lockNotice: { command: string; reporter: LockWaitReporter | undefined } = { command: '', reporter: undefined };

/**
 * Names this process's command in the locks it takes (the second line of a lock file), so a
 * waiter can say who it waits for: command words only, e.g. "sesame import" — never an
 * argument. Anything but lower-case words and spaces (at most 64 chars) is ignored.
 */
export function setLockHolderCommand(command: string): void {
  lockNotice.command = /^[a-z][a-z -]{0,63}$/.test(command) ? command : '';
}

/** Installs the reporter of long lock waits (the CLI's: a line on stderr); undefined removes it. */
export function setLockWaitReporter(r: LockWaitReporter | undefined): void {
  lockNotice.reporter = r;
}
