/**
 * One running exec: a child started through the native door (os/native.ts `spawnChild`:
 * posix_spawn, its own process group — or its own session on a pty), its output read as it
 * comes, each stream through its own Redactor, and its end.
 *
 * - Output: the child's stdout and stderr are pipes (pipe2 O_CLOEXEC), or one pty master.
 *   Their read ends are wrapped in Node sockets (non-blocking reads on libuv). Every chunk is
 *   pushed through the stream's Redactor and the masked bytes go to `sink.write`; the raw
 *   chunk is wiped at once. Backpressure: while `sink.blocked()` the source is paused, and
 *   resumed on `sink.onRoom`.
 * - End: the child is reaped with waitpid(WNOHANG), driven by SIGCHLD (process.on) plus a
 *   one-second fallback poll. When the child has exited, what is left of its process group
 *   is killed (SIGTERM, then SIGKILL after KILL_GRACE_MS): no descendant outlives its exec
 *   with the secrets in its environment. Once both streams reached end-of-file (or
 *   KILL_GRACE_MS after the group was killed), the redactors are flushed and `done` resolves.
 * - Kill: `kill()` (the request was cancelled: disconnect, shutdown) and the timeout send
 *   SIGTERM to the group, then SIGKILL after KILL_GRACE_MS. `killAllNow()` (the agent's
 *   synchronous shutdown) does it for every live exec, waiting at most KILL_GRACE_MS.
 *
 * Never a shell. Secrets: the env Buffers are the caller's; it wipes them right after
 * `start()` returns (the spawn has copied them into the child).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tty from 'node:tty';
import { closeDescriptor, openPty, pipeCloexec, setWinSize, spawnChild, waitNoHang, type ChildExit } from '../../os/native.js';
import { createRedactor, type Needle, type Redactor } from '../../redact/index.js';
import { SesameError } from '../../errors.js';
import { allocSecret } from '../../bytes.js';

/** How long a process group gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 500;
/** The per-exec time limit when a request names none, in seconds. */
export const DEFAULT_TIMEOUT_S = 3600;
/** The longest per-exec time limit a request may ask for (`timeout_s`), in seconds. */
export const MAX_TIMEOUT_S = 86_400;
/** Bytes read from a child's stream at a time (into one off-heap buffer per stream). */
const READ_BUFFER = 64 * 1024;
/** The most bytes one chunk frame carries (docs/spec/agent-protocol.md: 1 … 65,536). */
export const MAX_CHUNK = 65_536;

/** The signals a client may send to its exec (`signal` op). */
export const CLIENT_SIGNALS: readonly string[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/** Where masked output goes. */
export interface ExecSink {
  /** Masked bytes of one stream; the sink owns `data` (wipe it once written). */
  write(stream: 'stdout' | 'stderr', data: Buffer): void;
  /** True while no more output should be read. */
  blocked(): boolean;
  /** Calls `fn` once there is room again. */
  onRoom(fn: () => void): void;
}

/** What to run. */
export interface ExecSpec {
  readonly path: string;
  readonly argv: readonly string[];
  /** "NAME=value" entries; the caller wipes them right after `start()`. */
  readonly env: readonly Buffer[];
  readonly cwd: string;
  readonly stdin: boolean;
  readonly pty?: { rows: number; cols: number };
  readonly needles: readonly Needle[];
  readonly timeoutMs: number;
  /** The redactor's minimum value length (default: the redactor's). */
  readonly minLength?: number;
}

/** How an exec ended: an exit code or a signal name, and the masked counts. */
export interface ExecResult {
  readonly code?: number;
  readonly signal?: string;
  readonly masked: Record<string, number>;
  readonly tooShort: readonly string[];
  readonly timedOut: boolean;
}

const live = new Set<ExecChild>();
let sigchldInstalled = false;
let poll: NodeJS.Timeout | undefined;

function reapAll(): void {
  for (const c of live) c.reap();
}

function watchChildren(): void {
  if (!sigchldInstalled) {
    process.on('SIGCHLD', reapAll);
    sigchldInstalled = true;
  }
  poll ??= setInterval(reapAll, 1000);
  poll.unref();
}

/** The number of execs still running or draining (tests, status). */
export function liveExecs(): number {
  return live.size;
}

/**
 * Kills every live exec's process group now, synchronously: SIGTERM, up to KILL_GRACE_MS for
 * the groups to go, then SIGKILL. For the agent's shutdown, which cannot wait. Never throws.
 */
export function killAllNow(): void {
  if (!live.size) return;
  const all = [...live];
  for (const c of all) c.signalGroup('SIGTERM');
  const until = Date.now() + KILL_GRACE_MS;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < until && all.some((c) => c.groupAlive())) {
    for (const c of all) c.reap();
    Atomics.wait(nap, 0, 0, 10);
  }
  for (const c of all) {
    c.signalGroup('SIGKILL');
    c.reap();
  }
}

const SIGNAL_NAMES: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  5: 'SIGTRAP',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  10: 'SIGUSR1',
  11: 'SIGSEGV',
  12: 'SIGUSR2',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
  24: 'SIGXCPU',
  25: 'SIGXFSZ',
  26: 'SIGVTALRM',
  27: 'SIGPROF',
  31: 'SIGSYS',
};

/** A signal number's name (`SIG…`), or `SIG<n>` for one without a name here. */
export function signalName(n: number): string {
  return SIGNAL_NAMES[n] ?? `SIG${n}`;
}

/** One exec. See the module comment. */
export class ExecChild {
  readonly pid: number;
  readonly done: Promise<ExecResult>;
  #resolve!: (r: ExecResult) => void;
  #sink: ExecSink;
  #red: { stdout: Redactor; stderr: Redactor };
  #sources: net.Socket[] = [];
  #stdin: net.Socket | undefined;
  #master: number | undefined;
  #open = 0;
  #exit: ChildExit | undefined;
  #groupGone = false;
  #killTimer: NodeJS.Timeout | undefined;
  #drainTimer: NodeJS.Timeout | undefined;
  #timeout: NodeJS.Timeout | undefined;
  #timedOut = false;
  #finished = false;
  #waitingRoom = false;

  /** Spawns `spec` (throws ERROR/NOT_FOUND when it cannot start; nothing is left running then). */
  constructor(spec: ExecSpec, sink: ExecSink) {
    this.#sink = sink;
    this.done = new Promise((r) => (this.#resolve = r));
    const opts = spec.minLength === undefined ? {} : { minLength: spec.minLength };
    this.#red = { stdout: createRedactor(spec.needles, opts), stderr: createRedactor(spec.needles, opts) };
    const argv = spec.argv.map((a) => Buffer.from(a, 'utf8'));
    const childFds: number[] = [];
    const ours: number[] = [];
    try {
      if (spec.pty) {
        const p = openPty(spec.pty.rows, spec.pty.cols);
        ours.push(p.master);
        this.pid = spawnChild({ path: spec.path, argv, env: spec.env, cwd: spec.cwd, pty: p.slave });
        this.#master = p.master;
      } else {
        const [inR, inW] = spec.stdin ? pipeCloexec() : [-1, -1];
        if (spec.stdin) {
          childFds.push(inR);
          ours.push(inW);
        }
        const [outR, outW] = pipeCloexec();
        childFds.push(outW);
        ours.push(outR);
        const [errR, errW] = pipeCloexec();
        childFds.push(errW);
        ours.push(errR);
        const devnull = spec.stdin ? -1 : nullFd();
        this.pid = spawnChild({ path: spec.path, argv, env: spec.env, cwd: spec.cwd, stdio: [spec.stdin ? inR : devnull, outW, errW] });
        for (const fd of childFds) closeDescriptor(fd);
        childFds.length = 0;
        if (spec.stdin) {
          this.#stdin = new net.Socket({ fd: inW, readable: false, writable: true });
          this.#stdin.on('error', () => {});
        }
        this.#attach((onread) => new net.Socket({ fd: outR, readable: true, writable: false, onread } as net.SocketConstructorOpts), 'stdout');
        this.#attach((onread) => new net.Socket({ fd: errR, readable: true, writable: false, onread } as net.SocketConstructorOpts), 'stderr');
      }
    } catch (e) {
      for (const fd of [...childFds, ...ours]) closeDescriptor(fd);
      this.#red.stdout.wipe();
      this.#red.stderr.wipe();
      throw e instanceof SesameError ? e : new SesameError('ERROR', 'the command could not be started');
    }
    if (this.#master !== undefined) {
      const master = this.#master;
      const m = this.#attach((onread) => new tty.ReadStream(master, { onread } as unknown as net.SocketConstructorOpts), 'stdout');
      if (spec.stdin) this.#stdin = m;
    }
    live.add(this);
    watchChildren();
    this.#timeout = setTimeout(() => {
      this.#timedOut = true;
      this.kill();
    }, spec.timeoutMs);
    this.reap();
  }

  /**
   * Reads one stream into its own off-heap buffer (net's `onread`: the bytes land there
   * directly, never in a buffer Node allocates, copies and frees unwiped), pushes them
   * through the stream's redactor and wipes them at once.
   */
  #attach<S extends net.Socket>(make: (onread: { buffer: Buffer; callback: (n: number, b: Buffer) => boolean }) => S, stream: 'stdout' | 'stderr'): S {
    const buffer = allocSecret(READ_BUFFER);
    const onread = {
      buffer,
      callback: (n: number, b: Buffer): boolean => {
        const out = this.#red[stream].push(b.subarray(0, n));
        b.fill(0, 0, n);
        this.#emit(stream, out);
        if (this.#sink.blocked()) {
          this.#pause();
          return false;
        }
        return true;
      },
    };
    const s = make(onread);
    this.#open++;
    this.#sources.push(s);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.#open--;
      s.destroy();
      buffer.fill(0);
      this.#maybeFinish();
    };
    s.on('end', end);
    s.on('close', end);
    // A pty master reads EIO once the last slave fd is closed: that is its end of file.
    s.on('error', end);
    s.resume(); // a tty.ReadStream starts paused (manualStart)
    return s;
  }

  #emit(stream: 'stdout' | 'stderr', out: Buffer): void {
    for (let o = 0; o < out.length; o += MAX_CHUNK) {
      const part = out.subarray(o, Math.min(out.length, o + MAX_CHUNK));
      this.#sink.write(stream, part);
    }
  }

  #pause(): void {
    if (this.#waitingRoom) return;
    this.#waitingRoom = true;
    for (const s of this.#sources) s.pause();
    this.#sink.onRoom(() => {
      this.#waitingRoom = false;
      for (const s of this.#sources) if (!s.destroyed) s.resume();
    });
  }

  /** Stdin bytes (copied to the pipe; the caller wipes its Buffer once this returns). */
  input(data: Buffer): void {
    if (!this.#stdin || this.#stdin.destroyed) throw new SesameError('PROTOCOL', 'this exec takes no input (it was started without stdin, or its stdin is closed)', { detail: { reason: 'bad_args' } });
    this.#stdin.write(Buffer.from(data));
  }

  /** Closes the child's stdin (a pty: sends the terminal's EOF character, ^D). */
  eof(): void {
    if (!this.#stdin) return;
    if (this.#master !== undefined) this.#stdin.write(Buffer.from([4]));
    else this.#stdin.end();
  }

  /** Sends `name` (CLIENT_SIGNALS) to the child's process group. */
  signal(name: string): void {
    this.signalGroup(name as NodeJS.Signals);
  }

  /** The pty's new window size (the kernel sends SIGWINCH). PROTOCOL when the exec has no pty. */
  resize(rows: number, cols: number): void {
    if (this.#master === undefined) throw new SesameError('PROTOCOL', 'this exec has no terminal to resize', { detail: { reason: 'bad_args' } });
    setWinSize(this.#master, rows, cols);
  }

  /** SIGTERM to the group now, SIGKILL after KILL_GRACE_MS if anything is left. Idempotent. */
  kill(): void {
    this.signalGroup('SIGTERM');
    this.#killTimer ??= setTimeout(() => {
      this.signalGroup('SIGKILL');
      this.#drain();
    }, KILL_GRACE_MS);
  }

  /** Sends `sig` to the child's process group; a group already gone is not an error. */
  signalGroup(sig: NodeJS.Signals): void {
    if (this.#groupGone) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      this.#groupGone = true;
    }
  }

  /** True while a process of the child's group may still run. */
  groupAlive(): boolean {
    if (this.#groupGone) return false;
    try {
      process.kill(-this.pid, 0);
      return true;
    } catch {
      this.#groupGone = true;
      return false;
    }
  }

  /** Reaps the child if it has ended (waitpid WNOHANG); then kills what is left of its group. */
  reap(): void {
    if (this.#exit) return;
    const r = waitNoHang(this.pid);
    if (!r) return;
    this.#exit = r;
    clearTimeout(this.#timeout);
    if (this.groupAlive()) this.kill();
    this.#drain();
    this.#maybeFinish();
  }

  /** Stops waiting for the streams' end KILL_GRACE_MS after the group was told to go. */
  #drain(): void {
    this.#drainTimer ??= setTimeout(() => {
      for (const s of this.#sources) s.destroy();
      this.#open = 0;
      this.#maybeFinish();
    }, KILL_GRACE_MS * 2);
  }

  #maybeFinish(): void {
    if (this.#finished || !this.#exit || this.#open > 0) return;
    this.#finished = true;
    live.delete(this);
    if (!live.size && poll) {
      clearInterval(poll);
      poll = undefined;
    }
    clearTimeout(this.#timeout);
    clearTimeout(this.#drainTimer);
    clearTimeout(this.#killTimer);
    if (this.#stdin && !this.#stdin.destroyed) this.#stdin.destroy();
    if (this.#master !== undefined && this.#sources.every((s) => s.destroyed)) this.#master = undefined;
    this.#emit('stdout', this.#red.stdout.flush());
    this.#emit('stderr', this.#red.stderr.flush());
    const masked: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const r of [this.#red.stdout, this.#red.stderr]) for (const [k, n] of Object.entries(r.counts())) masked[k] = (masked[k] ?? 0) + n;
    const tooShort = [...this.#red.stdout.tooShort];
    this.#red.stdout.wipe();
    this.#red.stderr.wipe();
    const e = this.#exit;
    this.#resolve({ ...(e.signal !== undefined ? { signal: signalName(e.signal) } : { code: e.code }), masked: { ...masked }, tooShort, timedOut: this.#timedOut });
  }
}

let devNull: number | undefined;
/** A read-only /dev/null fd kept open (close-on-exec) for children without stdin. */
function nullFd(): number {
  if (devNull === undefined) {
    devNull = fs.openSync('/dev/null', fs.constants.O_RDONLY); // libuv opens close-on-exec;
  }
  return devNull;
}
