/**
 * Drives the built CLI (dist/sesame.cjs, the package bin) in an isolated SESAME_HOME.
 * Children run detached (setsid: no controlling terminal) so no test can ever prompt.
 */
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { keepHome, registerHome, registerSecret } from './suite-registry.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The built executable: `$SESAME_DIST/sesame.cjs` (default dist/), made by `npm run build`; package.json's bin. */
export const BIN = path.join(ROOT, process.env.SESAME_DIST ?? 'dist', 'sesame.cjs');
export const PASSPHRASE = 'correct horse battery staple';
registerSecret(PASSPHRASE);

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  out: string;
}

export interface TestHome {
  dir: string;
  passFile: string;
  /** Environment for this home: SESAME_HOME and SESAME_PASSPHRASE_FILE, nothing inherited that could interfere. */
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

/** A fresh 0700 home with a 0600 passphrase file; cheap KDF parameters for speed when init'ed via initHome. */
export function makeHome(prefix = 'sesame-test-'): TestHome {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(base, 0o700);
  const dir = path.join(base, 'home');
  const passFile = path.join(base, 'pass');
  fs.writeFileSync(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
  const id = registerHome(dir); // for the suite's final scan (suite-registry.ts)
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: base,
    LANG: 'C.UTF-8',
    SESAME_HOME: dir,
    SESAME_PASSPHRASE_FILE: passFile,
  };
  return {
    dir,
    passFile,
    env,
    cleanup: () => {
      keepHome(id, dir);
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

/** makeHome + `init` with the smallest allowed Argon2id parameters (tests only). */
export async function initHome(prefix?: string): Promise<TestHome> {
  const h = makeHome(prefix);
  const r = await sesame(['init', '--kdf-memory', '8', '--kdf-passes', '1'], { env: h.env });
  if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`);
  return h;
}

export interface RunOpts {
  env: NodeJS.ProcessEnv;
  input?: string | Buffer;
  timeoutMs?: number;
}

/** Runs the CLI and collects its output. Registers what it hands over or gets back that is secret (suite-registry.ts). */
export async function sesame(args: string[], opts: RunOpts): Promise<Result> {
  registerUsed(opts);
  const r = await runProcess(process.execPath, [BIN, ...args], opts);
  const verbs = args.filter((a) => !a.startsWith('-'));
  // What comes back secret: a value (get, env, run's output), a new token.
  if (r.code === 0 && (verbs[0] === 'get' || (verbs[0] === 'token' && verbs[1] === 'new'))) registerSecret(r.stdout);
  return r;
}

/** Registers the secrets a run is given: its stdin (a value, a passphrase), its passphrase file, its token. */
function registerUsed(opts: RunOpts): void {
  if (opts.input !== undefined) registerSecret(opts.input);
  const pf = opts.env.SESAME_PASSPHRASE_FILE;
  if (pf) {
    try {
      const st = fs.statSync(pf); // a test's FIFO or /dev/zero is never read: it would block or never end
      if (st.isFile() && st.size <= 64 * 1024) registerSecret(fs.readFileSync(pf));
    } catch {
      /* a test's missing or unreadable file */
    }
  }
  registerSecret(opts.env.SESAME_AGENT_TOKEN);
  registerSecret(opts.env.SESAME_PASSPHRASE);
}

export function runProcess(file: string, args: string[], opts: RunOpts & { cwd?: string }): Promise<Result> {
  return new Promise((resolve, reject) => {
    const so: SpawnOptions = { env: opts.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'], cwd: opts.cwd ?? ROOT };
    const child = spawn(file, args, so);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(t);
      const stdout = Buffer.concat(out);
      resolve({ code, signal, stdout, stderr: Buffer.concat(err).toString('utf8'), out: stdout.toString('utf8') });
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
  });
}

/** Stores a value through `set` (stdin). */
export async function setSecret(h: TestHome, key: string, value: string | Buffer, extra: string[] = []): Promise<void> {
  const r = await sesame(['set', key, '--raw', ...extra], { env: h.env, input: value });
  if (r.code !== 0) throw new Error(`set ${key} failed: ${r.stderr}`);
}

/**
 * A real external tool for a test. In CI (CI=true) a missing tool fails the test; outside
 * CI the test is skipped with what to install.
 */
export function requireTool(t: { skip(msg: string): void }, tool: string, debianPackage: string): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).status === 0;
  if (found) return true;
  if (process.env.CI === 'true') throw new Error(`${tool} is required in CI: apt-get install -y ${debianPackage}`);
  t.skip(`${tool} not installed (apt-get install -y ${debianPackage})`);
  return false;
}
