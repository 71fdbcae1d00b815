/**
 * Helpers for the approval and cell tests: a home with a high-value key, a token, reads
 * started in the background, the owner's `sesame approve` typed on a real pseudo-terminal.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, PASSPHRASE, ROOT, initHome, runProcess, sesame, setSecret, type Result, type TestHome } from './cli.js';
import { sleep } from './agent.js';

export const DRIVER = path.join(ROOT, 'test', 'helpers', 'pty-drive.py');
/** The high-value key's value: no approve output may ever contain it, nor its base64. */
export const HV_VALUE = 'hv-value-7Kq2-never-shown';

/** A home with HV (high-value) and LOW in project default, and a token that may read them. */
export async function approvalHome(prefix: string, config?: string): Promise<{ h: TestHome; token: string; id8: string }> {
  const h = await initHome(prefix);
  await setSecret(h, 'HV', HV_VALUE, ['--high-value']);
  await setSecret(h, 'LOW', 'low-value');
  if (config !== undefined) fs.writeFileSync(path.join(h.dir, 'config.toml'), config, { mode: 0o600 });
  const r = await sesame(['token', 'new'], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  const id8 = /token ([0-9a-f]{8}) made/.exec(r.stderr)?.[1];
  assert.ok(id8, r.stderr);
  return { h, token: r.out.trimEnd(), id8 };
}

/** The environment of a delegated client holding only `token` (no passphrase source). */
export function tokenEnv(h: TestHome, token: string): NodeJS.ProcessEnv {
  const { SESAME_PASSPHRASE_FILE: _pf, ...rest } = h.env;
  return { ...rest, SESAME_AGENT_TOKEN: token };
}

/** `sesame get KEY` as the delegated client, not awaited (it may wait for approval). */
export function readAs(env: NodeJS.ProcessEnv, key = 'HV'): Promise<Result> {
  return sesame(['get', key], { env, timeoutMs: 90_000 });
}

export interface PendingJson {
  id: string;
  op: string;
  project: string | null;
  keys: string[];
  expires_in_s: number;
  caller: { pid: number | null; exe: string | null; token: string | null; cell: string | null; listener: { kind: string; name?: string }; chain: unknown[] };
}

/** The waiting requests, as `sesame approve --json` lists them (owner, no token). */
export async function pendingList(h: TestHome): Promise<PendingJson[]> {
  const r = await sesame(['approve', '--json'], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.out) as { pending: PendingJson[] }).pending;
}

/** Waits until `n` requests are pending; returns them. */
export async function waitPending(h: TestHome, n = 1, ms = 10_000): Promise<PendingJson[]> {
  const t0 = Date.now();
  for (;;) {
    const p = await pendingList(h);
    if (p.length >= n) return p;
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${n} pending request(s)`);
    await sleep(100);
  }
}

/** `sesame approve ARGS` on a real terminal, typing `secret` at the prompt that says `prompt`. */
export async function approveOnTty(h: TestHome, args: string[], secret: string = PASSPHRASE, prompt = 'passphrase'): Promise<{ output: string; status: number | null }> {
  const steps = [{ expect: prompt }, { send: `${secret}\r` }];
  const r = await runProcess('python3', [DRIVER, JSON.stringify(steps), process.execPath, BIN, 'approve', ...args], { env: h.env });
  return JSON.parse(r.out) as { output: string; status: number | null };
}

/** A command on a real terminal with a typing script. */
export async function onTty(env: NodeJS.ProcessEnv, argv: string[], steps: Array<{ expect?: string; send?: string }>, python = 'python3'): Promise<{ output: string; status: number | null }> {
  const r = await runProcess(python, [DRIVER, JSON.stringify(steps), ...argv], { env, timeoutMs: 90_000 });
  assert.ok(r.out.trim(), `the terminal driver printed nothing (exit ${String(r.code)}): ${r.stderr}`);
  return JSON.parse(r.out) as { output: string; status: number | null };
}

/** True when `text` holds the high-value value or its base64. */
export function leaksValue(text: string): boolean {
  return text.includes(HV_VALUE) || text.includes(Buffer.from(HV_VALUE).toString('base64'));
}
