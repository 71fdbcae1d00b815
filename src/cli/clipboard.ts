/**
 * `get KEY --clip`: the value goes to the clipboard through the platform's tool (wl-copy on
 * Wayland, xclip or xsel on X11, pbcopy on macOS), on the tool's stdin — never on argv or
 * in the environment. A detached helper clears the clipboard after CLEAR_AFTER_MS if it
 * still holds that value, and leaves it alone if the user copied something else meanwhile.
 *
 * The helper never learns the value: it gets a random salt and SHA-256(salt ‖ value)
 * through a pipe (not argv, not the environment), reads the clipboard when the time is up,
 * and compares hashes. Residuals (docs/threat-model.md): the clipboard is readable by every
 * program of the session while it holds the value, clipboard managers may keep a copy, and
 * the helper holds the clipboard's contents briefly when it compares.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SesameError } from '../core/errors.js';

/** How long the value stays on the clipboard (ms), unless the user copies something else. */
export const CLEAR_AFTER_MS = 45_000;

interface ClipTool {
  name: string;
  copy: string[];
  paste: string[];
  clear: string[];
}

function onPath(tool: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? '').split(':').some((d) => {
    if (!d) return false;
    try {
      fs.accessSync(path.join(d, tool), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The clipboard tool for this session, or UNAVAILABLE naming what to install. */
export function clipTool(env: NodeJS.ProcessEnv): ClipTool {
  if (process.platform === 'darwin' && onPath('pbcopy', env)) return { name: 'pbcopy', copy: ['pbcopy'], paste: ['pbpaste'], clear: ['pbcopy'] };
  if (env.WAYLAND_DISPLAY && onPath('wl-copy', env) && onPath('wl-paste', env)) return { name: 'wl-copy', copy: ['wl-copy'], paste: ['wl-paste', '--no-newline'], clear: ['wl-copy', '--clear'] };
  if (env.DISPLAY) {
    if (onPath('xclip', env))
      return { name: 'xclip', copy: ['xclip', '-selection', 'clipboard', '-in'], paste: ['xclip', '-selection', 'clipboard', '-out'], clear: ['xclip', '-selection', 'clipboard', '-in'] };
    if (onPath('xsel', env)) return { name: 'xsel', copy: ['xsel', '--clipboard', '--input'], paste: ['xsel', '--clipboard', '--output'], clear: ['xsel', '--clipboard', '--clear'] };
  }
  throw new SesameError('UNAVAILABLE', 'no clipboard here: --clip needs wl-copy (Wayland), xclip or xsel (X11), or pbcopy (macOS), and a graphical session', {
    hint: 'install one (e.g. apt-get install wl-clipboard or xclip) and run it inside your desktop session, or use `sesame get KEY` without --clip',
  });
}

/** The environment the tools and the helper get: the display, nothing of sesame's. */
function toolEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'DISPLAY', 'XAUTHORITY', 'WAYLAND_DISPLAY', 'XDG_RUNTIME_DIR', 'LANG'];
  return Object.fromEntries(keep.filter((k) => env[k] !== undefined).map((k) => [k, env[k]]));
}

/** The helper's program (node -e): reads salt and hash from stdin, waits, compares, clears. Holds no value of ours. */
const HELPER = `
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const [ms, paste, clear] = process.argv.slice(1);
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const input = Buffer.concat(chunks);
  const salt = input.subarray(0, 32), want = input.subarray(32, 64);
  setTimeout(() => {
    const p = JSON.parse(paste), c = JSON.parse(clear);
    const r = spawnSync(p[0], p.slice(1), { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000, maxBuffer: 8 << 20 });
    const now = r.stdout || Buffer.alloc(0);
    const got = createHash('sha256').update(salt).update(now).digest();
    now.fill(0);
    if (r.status === 0 && got.equals(want)) spawnSync(c[0], c.slice(1), { stdio: ['ignore', 'ignore', 'ignore'], timeout: 5000 });
  }, Number(ms));
});
`;

/**
 * Copies `value` to the clipboard (on the tool's stdin) and starts the detached helper that
 * clears it after `clearAfterMs` if it still holds the value. Returns the tool's name.
 * UNAVAILABLE when there is no tool or it fails. The caller wipes `value`.
 */
export function copyToClipboard(value: Buffer, env: NodeJS.ProcessEnv, clearAfterMs = CLEAR_AFTER_MS): string {
  const tool = clipTool(env);
  const e = toolEnv(env);
  const r = spawnSync(tool.copy[0]!, tool.copy.slice(1), { input: value, env: e, stdio: ['pipe', 'ignore', 'ignore'], timeout: 10_000 }); // no pipe the tool's background server could hold open
  if (r.status !== 0) {
    throw new SesameError('UNAVAILABLE', `${tool.name} could not copy to the clipboard${r.error ? ` (${r.error.message})` : ` (exit ${String(r.status ?? r.signal)})`}`, {
      hint: 'check that the graphical session is reachable (DISPLAY / WAYLAND_DISPLAY), or use `sesame get KEY` without --clip',
    });
  }
  const salt = randomBytes(32);
  const digest = createHash('sha256').update(salt).update(value).digest();
  const helper = spawn(process.execPath, ['-e', HELPER, '--', String(clearAfterMs), JSON.stringify(tool.paste), JSON.stringify(tool.clear)], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
    env: e,
  });
  helper.on('error', () => {});
  helper.stdin.on('error', () => {});
  helper.stdin.end(Buffer.concat([salt, digest]));
  helper.unref();
  return tool.name;
}
