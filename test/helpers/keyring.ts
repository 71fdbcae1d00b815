/**
 * A real Secret Service for tests: gnome-keyring-daemon inside its own dbus-run-session,
 * with a login keyring unlocked by an empty password, in the test home's HOME and a private
 * XDG_RUNTIME_DIR. Nothing of the developer's own desktop session is touched.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireTool } from './cli.js';

export interface KeyringSession {
  /** Variables that point a child at this bus (merge into the CLI's env). */
  env: { DBUS_SESSION_BUS_ADDRESS: string; XDG_RUNTIME_DIR: string; HOME: string };
  /** Runs dbus-send on this bus; returns stdout. */
  dbusSend(args: string[]): string;
  /** Locks the login collection (reads then need an unlock prompt, which cannot appear). */
  lockCollection(): void;
  /** The daemon's pid (SIGSTOP it to simulate a wedged keyring). */
  daemonPid(): number;
  stop(): void;
}

/** true when every tool a keyring test needs is there (else skipped, or failed in CI). */
export function keyringTools(t: { skip(msg: string): void }): boolean {
  return (
    requireTool(t, 'dbus-run-session', 'dbus') && requireTool(t, 'gnome-keyring-daemon', 'gnome-keyring') && requireTool(t, 'secret-tool', 'libsecret-tools') && requireTool(t, 'dbus-send', 'dbus')
  );
}

export async function startKeyring(home: string): Promise<KeyringSession> {
  const run = path.join(home, 'xdg-run');
  fs.mkdirSync(run, { recursive: true, mode: 0o700 });
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_RUNTIME_DIR: run, LANG: 'C.UTF-8' };
  const script = 'printf "\\n" | gnome-keyring-daemon --unlock --components=secrets >/dev/null && echo "READY $DBUS_SESSION_BUS_ADDRESS" && exec sleep 600';
  const child = spawn('dbus-run-session', ['--', 'sh', '-c', script], { env: base, detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  const address = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => {
      reject(new Error('gnome-keyring did not start within 15 s'));
    }, 15_000);
    child.stdout.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      const m = /READY (\S+)/.exec(buf);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => {
      reject(new Error(`dbus-run-session exited early (${String(code)})`));
    });
  });
  const env = { DBUS_SESSION_BUS_ADDRESS: address, XDG_RUNTIME_DIR: run, HOME: home };
  const dbusSend = (args: string[]): string => {
    const r = spawnSync('dbus-send', ['--session', '--print-reply', ...args], { env: { ...base, ...env }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`dbus-send failed: ${r.stderr}`);
    return r.stdout;
  };
  return {
    env,
    dbusSend,
    lockCollection() {
      dbusSend(['--dest=org.freedesktop.secrets', '/org/freedesktop/secrets', 'org.freedesktop.Secret.Service.Lock', 'array:objpath:/org/freedesktop/secrets/collection/login']);
    },
    daemonPid() {
      const out = dbusSend(['--dest=org.freedesktop.DBus', '/', 'org.freedesktop.DBus.GetConnectionUnixProcessID', 'string:org.freedesktop.secrets']);
      const m = /uint32 (\d+)/.exec(out);
      if (!m) throw new Error(`no keyring pid in ${out}`);
      return Number(m[1]);
    },
    stop() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    },
  };
}

/** secret-tool on this bus: store (value on stdin), lookup or clear an entry of sesame's. */
export function secretTool(ks: KeyringSession, args: string[], input?: string): { code: number | null; out: string } {
  const r = spawnSync('secret-tool', args, { env: { PATH: process.env.PATH, ...ks.env }, input: input ?? '', encoding: 'utf8' });
  return { code: r.status, out: r.stdout };
}
