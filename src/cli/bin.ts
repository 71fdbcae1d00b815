/**
 * The executable's entry, built as one small CommonJS file (dist/sesame.cjs): Node starts
 * it faster than an ES module graph. It answers the two hottest commands — `get KEY` and
 * `run … -- CMD` through a running agent — itself, and hands everything else (and those
 * two when no agent answers) to the full CLI in dist/cli.mjs. Before anything else it
 * ignores SIGUSR1 (early.ts) and hardens the process (below).
 */
import './early.js'; // first: SIGUSR1 must never open the inspector
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fastGet, fastGetArgs } from './get-fast-path.js';
import { fastRun, fastRunArgs } from './run-fast-path.js';
import { settle } from './output.js';
import { requireHardening } from '../core/os/native.js';

declare const __dirname: string;

async function start(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  // Before any path can hold a value or a passphrase (get, run, env, direct unlock,
  // prompts): not dumpable (no same-uid ptrace, pidfd_getfd or /proc/PID/mem) and no core
  // file, or refuse. koffi is on the fast path already (the client's peer check), so this
  // costs two syscalls and their read-back. Linux only (elsewhere: documented as not done).
  if (process.platform === 'linux') requireHardening('sesame');
  const g = fastGetArgs(argv, env);
  if (g) {
    const code = await fastGet(g, env);
    if (code !== null) return code;
  }
  const r = fastRunArgs(argv, env);
  if (r) {
    const code = await fastRun(r, env);
    if (code !== null) return code;
  }
  const full = (await import(pathToFileURL(path.join(__dirname, 'cli.mjs')).href)) as typeof import('./entry.js');
  return full.runMain(argv, env);
}

settle(start(process.argv.slice(2), process.env));
