/**
 * Runs an external helper of the chain (systemd-creds, dbus-send, a passphrase_command):
 * no shell, a hard deadline (SIGKILL, then we stop waiting even if a grandchild still holds
 * the pipes), a cap on stdout, and an environment without sesame's secrets.
 *
 * Contract: secrets travel only on stdin and stdout pipes, never argv or the environment.
 * The returned stdout is a fresh Buffer the caller wipes; intermediate chunks are wiped here.
 */
import { spawn } from 'node:child_process';

export interface ToolResult {
  /** Exit status; null when killed by a signal, timed out or never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  /** Captured stderr (empty when inherited); tools' diagnostics, never our secrets. */
  stderr: string;
  timedOut: boolean;
  /** stdout went over `maxStdout` (the child was killed). */
  tooLarge: boolean;
  /** A spawn error such as ENOENT or EACCES. */
  spawnError?: string;
}

export interface ToolOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Written to the child's stdin, then closed; the caller wipes it after the call. */
  input?: Buffer;
  maxStdout?: number;
  /** 'inherit' lets a tool talk to the user (e.g. a gpg message); default 'pipe'. */
  stderr?: 'pipe' | 'inherit';
}

/** Variables never passed to a helper: sesame's own secrets and tokens. */
export function toolEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (k.startsWith('SESAME_') && k !== 'SESAME_HOME') continue;
    out[k] = v;
  }
  return out;
}

/**
 * Runs `file` with `args` (no shell) under opts' deadline and stdout cap; never rejects: a spawn error, a timeout
 * or an oversize output is reported in the result. The caller wipes `result.stdout`.
 */
export function runTool(file: string, args: string[], opts: ToolOptions): Promise<ToolResult> {
  const max = opts.maxStdout ?? 64 * 1024;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let done = false;
    let timedOut = false;
    let tooLarge = false;
    const child = spawn(file, args, {
      env: toolEnv(opts.env),
      stdio: ['pipe', 'pipe', opts.stderr ?? 'pipe'],
      shell: false,
      windowsHide: true,
    });
    const finish = (r: Partial<ToolResult>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.stdout?.destroy();
      child.stderr?.destroy();
      const stdout = tooLarge || timedOut ? Buffer.alloc(0) : Buffer.concat(chunks);
      for (const c of chunks) c.fill(0);
      resolve({ code: null, signal: null, stdout, stderr, timedOut, tooLarge, ...r });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
      finish({});
    }, opts.timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      finish({ spawnError: e.code ?? e.message });
    });
    child.stdout!.on('data', (b: Buffer) => {
      size += b.length;
      if (size > max) {
        b.fill(0);
        tooLarge = true;
        child.kill('SIGKILL');
        finish({});
        return;
      }
      chunks.push(b);
    });
    child.stderr?.on('data', (b: Buffer) => {
      if (stderr.length < 8192) stderr += b.toString('utf8');
    });
    child.on('close', (code, signal) => {
      finish({ code, signal });
    });
    child.stdin!.on('error', () => {
      /* the child did not read its input: its exit status tells */
    });
    child.stdin!.end(opts.input ?? Buffer.alloc(0));
  });
}

/** The last meaningful line of a tool's stderr, for an error message (bounded). */
export function lastLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const l = lines[lines.length - 1] ?? '';
  return l.length > 240 ? `${l.slice(0, 240)}…` : l;
}
