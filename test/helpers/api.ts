/** Driving the built Node API (dist/api.mjs) from a separate Node process, as a program would. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BIN, runProcess, type TestHome } from './cli.js';

/** The built API module's URL. */
export const API = pathToFileURL(path.join(path.dirname(BIN), 'api.mjs')).href;

/** Runs `body` (an async ES-module body with `api` imported) in a fresh Node process; its stdout parsed as JSON. */
export async function program(h: TestHome, body: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: Record<string, unknown>; stderr: string }> {
  const code = `import * as api from ${JSON.stringify(API)};\nconst maps = () => require('node:fs').readFileSync('/proc/self/maps', 'utf8');\n${body}`;
  const file = path.join(h.dir, '..', `prog-${process.hrtime.bigint()}.mjs`);
  fs.writeFileSync(file, `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);\n${code}`);
  const r = await runProcess(process.execPath, [file], { env: { ...h.env, SESAME_PASSPHRASE_FILE: '', ...env } });
  let out: Record<string, unknown> = {};
  try {
    out = JSON.parse(r.out) as Record<string, unknown>;
  } catch {
    /* the assertion on code shows stderr */
  }
  return { code: r.code, out, stderr: r.stderr };
}
