/**
 * `sesame run --fd KEY[=N]` (docs/cli.md): secrets handed to the command as inherited file
 * descriptors instead of environment variables. Each value comes as a sealed memory file
 * (read-only, offset 0, readable with an ordinary read(2)): from the agent over `getfd`
 * (the value never enters this process), or — with no agent — made here from the value the
 * plaintext door gave us, which is wiped at once. The descriptor lands at N when given, else
 * wherever it is; its number is in the child's `KEY_FD` either way.
 */
import { usage } from './args.js';
import { checkKeyName } from '../core/names.js';
import type { SecretReader } from './secret-reader.js';

/** One `--fd` item. */
export interface FdSpec {
  key: string;
  /** The descriptor number the child gets it at; undefined: wherever it was received. */
  at: number | undefined;
}

/** The highest descriptor number `--fd KEY=N` accepts. */
const MAX_FD = 1023;

/** Parses the (comma-joined, repeatable) `--fd` value: `KEY` or `KEY=N` items, N in 3…1023, no key or N twice. USAGE otherwise. */
export function parseFdSpecs(v: string | boolean | undefined): FdSpec[] {
  if (typeof v !== 'string') return [];
  const out: FdSpec[] = [];
  for (const item of v.split(',')) {
    const m = /^([^=]+)(?:=(\d{1,4}))?$/.exec(item.trim());
    if (!m) throw usage(`--fd ${JSON.stringify(item)} is not KEY or KEY=N`, 'e.g. --fd TLS_KEY or --fd TLS_KEY=3');
    const key = checkKeyName(m[1]!);
    const at = m[2] === undefined ? undefined : Number(m[2]);
    if (at !== undefined && (at < 3 || at > MAX_FD)) throw usage(`--fd ${key}=${at}: N must be 3 to ${MAX_FD} (0–2 are stdin, stdout, stderr)`);
    if (out.some((o) => o.key === key)) throw usage(`--fd ${key} is given twice`);
    if (at !== undefined && out.some((o) => o.at === at)) throw usage(`--fd: descriptor ${at} is given twice`);
    out.push({ key, at });
  }
  return out;
}

/** The descriptors received for `specs`, in order (close-on-exec until `placeFds`). */
export async function fetchFds(reader: SecretReader, sock: string, env: NodeJS.ProcessEnv, project: string, specs: readonly FdSpec[]): Promise<number[]> {
  const fds: number[] = [];
  try {
    for (const s of specs) {
      if (reader.via === 'agent') {
        const { getFdFromAgent } = await import('../core/agent/fd-client.js');
        fds.push(getFdFromAgent(sock, env, project, s.key, { kind: 'sealed' }).fd);
      } else {
        const { memfdSealed } = await import('../core/os/native.js');
        const v = await reader.get(project, s.key);
        try {
          fds.push(memfdSealed(v));
        } finally {
          v.fill(0);
        }
      }
    }
    return fds;
  } catch (e) {
    const { closeDescriptor } = await import('../core/os/native.js');
    for (const f of fds) closeDescriptor(f);
    throw e;
  }
}

/**
 * Puts each descriptor where the child expects it, inheritable (close-on-exec cleared), and
 * returns the `KEY_FD=n` variables for the child's environment. Descriptors sitting on a
 * number another one is asked to take are moved out of the way first.
 */
export async function placeFds(specs: readonly FdSpec[], fds: number[]): Promise<string[]> {
  const { closeDescriptor, dupAbove, dupTo, makeInheritableBlocking } = await import('../core/os/native.js');
  const targets = new Set(specs.map((s) => s.at).filter((n): n is number => n !== undefined));
  const above = Math.max(2, ...targets) + 1;
  for (let i = 0; i < fds.length; i++) {
    if (targets.has(fds[i]!) && specs[i]!.at !== fds[i]) {
      const moved = dupAbove(fds[i]!, above);
      closeDescriptor(fds[i]!);
      fds[i] = moved;
    }
  }
  const vars: string[] = [];
  for (let i = 0; i < fds.length; i++) {
    const at = specs[i]!.at;
    if (at !== undefined && at !== fds[i]) {
      dupTo(fds[i]!, at); // dup2: the copy is inheritable
      closeDescriptor(fds[i]!);
      fds[i] = at;
    } else makeInheritableBlocking(fds[i]!);
    vars.push(`${specs[i]!.key}_FD=${fds[i]!}`);
  }
  return vars;
}
