/**
 * A world-readable copy of the built CLI for tests that run it as another uid (nobody).
 *
 * The repository may sit under a private (0700) directory — a fresh clone in a user's home —
 * where another uid cannot reach dist/ or node_modules. `stagedBin()` copies the executable
 * and the packages it loads at run time (package.json's dependencies and what they depend
 * on: the modules dist/ keeps external, sodium-native, koffi, @napi-rs/keyring, plus their
 * platform packages) into a fresh temp directory, once per test process: directories and
 * executables 0755, other files 0644. The copy is removed when the process exits.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BIN, ROOT } from './cli.js';

let staged: string | undefined;

/** The path of the staged sesame.cjs (copied on first call). */
export function stagedBin(): string {
  if (staged) return staged;
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-staged-'));
  process.on('exit', () => {
    fs.rmSync(base, { recursive: true, force: true });
  });
  const dist = path.join(base, 'dist');
  fs.cpSync(path.dirname(BIN), dist, { recursive: true, dereference: true });
  for (const name of runtimePackages()) {
    fs.cpSync(path.join(ROOT, 'node_modules', name), path.join(base, 'node_modules', name), { recursive: true, dereference: true });
  }
  openUp(base);
  staged = path.join(dist, path.basename(BIN));
  return staged;
}

/** The closure of package.json's dependencies over what is installed in node_modules. */
function runtimePackages(): string[] {
  const seen = new Set<string>();
  const depsOf = (pkgJson: string): string[] => {
    const p = JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    return [...Object.keys(p.dependencies ?? {}), ...Object.keys(p.optionalDependencies ?? {})];
  };
  const todo = depsOf(path.join(ROOT, 'package.json'));
  while (todo.length) {
    const name = todo.pop()!;
    if (seen.has(name)) continue;
    const pj = path.join(ROOT, 'node_modules', name, 'package.json');
    if (!fs.existsSync(pj)) continue; // an optional platform package for another platform
    seen.add(name);
    todo.push(...depsOf(pj));
  }
  return [...seen].sort();
}

/** chmod -R: 0755 for directories and executables, 0644 for other files. */
function openUp(p: string): void {
  const st = fs.lstatSync(p);
  if (st.isDirectory()) {
    fs.chmodSync(p, 0o755);
    for (const n of fs.readdirSync(p)) openUp(path.join(p, n));
  } else if (st.isFile()) {
    fs.chmodSync(p, st.mode & 0o111 ? 0o755 : 0o644);
  }
}
