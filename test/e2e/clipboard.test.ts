/**
 * `get KEY --clip` under a real X server (Xvfb) with xclip: the value is copied and
 * readable, cleared after the (test-shortened) delay, and left alone when the user copied
 * something else meanwhile. The value is never on the helper's argv or environment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { initHome, requireTool, sesame, setSecret } from '../helpers/cli.js';
import { sleep, waitFor } from '../helpers/agent.js';

async function startXvfb(): Promise<{ display: string; proc: ChildProcess }> {
  for (let n = 90 + (process.pid % 50); n < 200; n++) {
    if (fs.existsSync(`/tmp/.X11-unix/X${n}`) || fs.existsSync(`/tmp/.X${n}-lock`)) continue;
    const proc = spawn('Xvfb', [`:${n}`, '-nolisten', 'tcp', '-ac', '-screen', '0', '64x64x8'], { stdio: 'ignore' });
    try {
      await waitFor('Xvfb to listen', () => fs.existsSync(`/tmp/.X11-unix/X${n}`), 5000);
      return { display: `:${n}`, proc };
    } catch {
      proc.kill('SIGKILL');
    }
  }
  throw new Error('no free X display');
}

const paste = (display: string): string => spawnSync('xclip', ['-selection', 'clipboard', '-out'], { env: { PATH: process.env.PATH, DISPLAY: display }, encoding: 'utf8', timeout: 5000 }).stdout ?? '';

test('get --clip copies the value, readable with xclip -o, and clears it after the delay', async (t) => {
  if (!requireTool(t, 'Xvfb', 'xvfb') || !requireTool(t, 'xclip', 'xclip')) return;
  const h = await initHome();
  const x = await startXvfb();
  try {
    await setSecret(h, 'TOKEN', 'clip-secret-value-42');
    const env = { ...h.env, DISPLAY: x.display, SESAME_TEST_CLIP_CLEAR_MS: '2500' };
    const r = await sesame(['get', 'TOKEN', '--clip'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, '', 'nothing on stdout');
    assert.match(r.stderr, /copied TOKEN to the clipboard; it is cleared in 3 s/);
    assert.equal(paste(x.display), 'clip-secret-value-42');
    // The clearing helper holds no value on its argv or in its environment.
    let helpers = 0;
    for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`);
        if (!cmd.includes('sha256')) continue;
        helpers++;
        assert.ok(!cmd.includes('clip-secret-value-42'), 'not on argv');
        assert.ok(!fs.readFileSync(`/proc/${pid}/environ`).includes('clip-secret-value-42'), 'not in the environment');
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
      }
    }
    assert.ok(helpers >= 1, 'the clearing helper was found and checked');
    await waitFor('the clipboard to be cleared', () => paste(x.display) === '', 8000);
  } finally {
    x.proc.kill();
    h.cleanup();
  }
});

test('get --clip does not clear the clipboard when the user copied something else meanwhile', async (t) => {
  if (!requireTool(t, 'Xvfb', 'xvfb') || !requireTool(t, 'xclip', 'xclip')) return;
  const h = await initHome();
  const x = await startXvfb();
  try {
    await setSecret(h, 'TOKEN', 'clip-secret-value-43');
    const env = { ...h.env, DISPLAY: x.display, SESAME_TEST_CLIP_CLEAR_MS: '2000' };
    assert.equal((await sesame(['get', 'TOKEN', '--clip'], { env })).code, 0);
    assert.equal(paste(x.display), 'clip-secret-value-43');
    const mine = spawnSync('xclip', ['-selection', 'clipboard', '-in'], { input: 'the user copied this', env: { PATH: process.env.PATH, DISPLAY: x.display }, stdio: ['pipe', 'ignore', 'ignore'] });
    assert.equal(mine.status, 0);
    await sleep(3500);
    assert.equal(paste(x.display), 'the user copied this');
  } finally {
    x.proc.kill();
    h.cleanup();
  }
});

test('get --clip without a clipboard says what is missing before any unlock', async () => {
  const h = await initHome();
  try {
    await setSecret(h, 'TOKEN', 'v');
    const env = { ...h.env };
    delete env.SESAME_PASSPHRASE_FILE;
    const r = await sesame(['get', 'TOKEN', '--clip', '--no-agent'], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no clipboard here/);
    assert.equal(r.out, '');
  } finally {
    h.cleanup();
  }
});
