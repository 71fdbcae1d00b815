/**
 * The agent's log file (`agent.log` in the home): start, stop reasons, denied peers.
 * The detached agent has no terminal, so this is where it explains itself.
 *
 * Contract: callers never pass a secret (the agent logs ops, reasons, uids and pids only).
 * The file is created 0600 (O_NOFOLLOW, under umask 077), appended line by line, and
 * rotated to `agent.log.1` beyond 1 MiB. Logging never throws: an agent must not die
 * because its log is unwritable.
 */
import * as fs from 'node:fs';
import { openPrivateFd } from '../fs/secure.js';

const MAX_BYTES = 1024 * 1024;

export type AgentLog = (msg: string) => void;

/** A logger appending to `file`; `clock` is injectable for tests. */
export function openAgentLog(file: string, clock: () => Date = () => new Date()): AgentLog {
  return (msg) => {
    try {
      rotate(file);
      const fd = openPrivateFd(file, fs.constants.O_WRONLY | fs.constants.O_APPEND);
      try {
        fs.fchmodSync(fd, 0o600);
        fs.writeSync(fd, `${clock().toISOString()} pid=${process.pid} ${msg.replace(/[\r\n]+/g, ' ')}\n`);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      /* best effort */
    }
  };
}

function rotate(file: string): void {
  try {
    if (fs.lstatSync(file).size > MAX_BYTES) fs.renameSync(file, `${file}.1`);
  } catch {
    /* absent */
  }
}
