/**
 * The suite's registry of test homes and secrets, for the scan that runs after the whole
 * suite (test/post/audit-secrets-scan.post.ts, run by scripts/test.mjs): "no record holds
 * any value, token or passphrase used in the whole suite".
 *
 * scripts/test.mjs makes one private directory per run and passes it as
 * SESAME_TEST_REGISTRY to every test process. The helpers write into it:
 *  - homes/<pid>-<n>.json  a home a test made (makeHome, chainHome), and
 *  - kept/<pid>-<n>/…      a copy of that home's files, taken when the test cleans it up
 *                          (the home itself is then removed), so the scan sees every file
 *                          even of homes that no longer exist;
 *  - secrets/<pid>.jsonl   every passphrase, value and token the helpers handed to or got
 *                          from sesame (base64, one a line).
 * Without SESAME_TEST_REGISTRY (a test file run by hand) the helpers register nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const REG = process.env.SESAME_TEST_REGISTRY;
/** Secrets shorter than this are not registered: they would match by chance (a value "1"). */
export const MIN_SECRET = 8;
/** Files larger than this are not kept (none of a test home's audit files comes close). */
const MAX_KEEP = 16 * 1024 * 1024;
let n = 0;
const seen = new Set<string>();

function mkdir(d: string): string {
  fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  return d;
}

/** Registers a home (SESAME_HOME) a test made; returns its id for keepHome. Never throws. */
export function registerHome(dir: string): string | undefined {
  if (!REG) return undefined;
  const id = `${process.pid}-${++n}`;
  try {
    fs.writeFileSync(path.join(mkdir(path.join(REG, 'homes')), `${id}.json`), JSON.stringify({ dir, test: process.argv[1] ?? '' }), { mode: 0o600 });
  } catch {
    return undefined;
  }
  return id;
}

function copyTree(from: string, to: string): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(from, { withFileTypes: true });
  } catch {
    return; // never made, or already gone
  }
  for (const e of entries) {
    const src = path.join(from, e.name);
    if (e.isDirectory()) copyTree(src, path.join(to, e.name));
    else if (e.isFile()) {
      try {
        if (fs.statSync(src).size > MAX_KEEP) continue;
        fs.copyFileSync(src, path.join(mkdir(to), e.name));
      } catch {
        /* unreadable (a test's chmod 000): the scan of live homes reports nothing for it either */
      }
    }
  }
}

/** Copies the files of a registered home into the registry before the test removes it. Never throws. */
export function keepHome(id: string | undefined, dir: string): void {
  if (!REG || id === undefined) return;
  copyTree(dir, path.join(REG, 'kept', id));
}

/** Registers a secret the suite used (a value, a passphrase, a token). Never throws. */
export function registerSecret(s: string | Buffer | undefined): void {
  if (!REG || s === undefined) return;
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  for (const v of [b, trimNewline(b)]) {
    if (v.length < MIN_SECRET) continue;
    const line = v.toString('base64');
    if (seen.has(line)) continue;
    seen.add(line);
    try {
      fs.appendFileSync(path.join(mkdir(path.join(REG, 'secrets')), `${process.pid}.jsonl`), `${line}\n`, { mode: 0o600 });
    } catch {
      /* the scan then misses it; it still fails when it has no secrets at all */
    }
  }
}

function trimNewline(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0x0a || b[end - 1] === 0x0d)) end--;
  return b.subarray(0, end);
}
