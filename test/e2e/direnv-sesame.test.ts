import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, initHome, requireTool, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { startAgent, stopAgent } from '../helpers/agent.js';

function hostile(canary: string): Array<[string, Buffer]> {
  const big = Buffer.alloc(64 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = [0x27, 0x22, 0x24, 0x60, 0x5c, 0x0a, 0x41, 0x28, 0x29, 0x3b][i % 10]!;
  return [
    ['SINGLE', Buffer.from(`it's '' ''' end'`)],
    ['SUBST', Buffer.from(`$(touch ${canary}) \`touch ${canary}\` \${HOME} $HOME`)],
    ['NEWLINES', Buffer.from('line1\nline2\r\n\nexport PATH=/evil\n')],
    ['BACKSLASH', Buffer.from('a\\b\\\\c\\n\\t\\')],
    ['UNICODE', Buffer.from('héllo wörld ✓ 😀 ﷽')],
    ['GLOB', Buffer.from('* ? [a-z] ~ {a,b} !! ; | & < > 2>&1')],
    ['BIG', big],
  ];
}

/** A direnv world in the test's temp dir: its own HOME, XDG config (direnvrc) and data (allow list). */
function direnvWorld(h: TestHome): { base: string; env: NodeJS.ProcessEnv; proj: string } {
  const base = path.dirname(h.dir);
  const cfg = path.join(base, 'config', 'direnv');
  fs.mkdirSync(cfg, { recursive: true });
  // The documented install line: eval "$(sesame hook direnv)" in direnvrc.
  fs.writeFileSync(path.join(cfg, 'direnvrc'), `eval "$('${process.execPath}' '${BIN}' hook direnv)"\n`);
  const proj = path.join(base, 'proj');
  fs.mkdirSync(proj);
  const env: NodeJS.ProcessEnv = {
    ...h.env,
    SESAME_PASSPHRASE_FILE: undefined,
    XDG_CONFIG_HOME: path.join(base, 'config'),
    XDG_DATA_HOME: path.join(base, 'data'),
    XDG_CACHE_HOME: path.join(base, 'cache'),
    DIRENV_LOG_FORMAT: 'direnv: %s',
  };
  return { base, env, proj };
}

test('direnv: use_sesame loads hostile values exactly (direnv exec and direnv export bash), unloads on leaving, restores a user-set variable, and nothing executes', async (t) => {
  if (!requireTool(t, 'direnv', 'direnv')) return;
  const h = await initHome();
  const canary = path.join(path.dirname(h.dir), 'pwned');
  const values = hostile(canary);
  assert.equal((await sesame(['projects', 'create', 'web'], { env: h.env })).code, 0);
  for (const [k, v] of values) await setSecret(h, k, v, ['-p', 'web']);
  const { base, env, proj } = direnvWorld(h);
  fs.writeFileSync(path.join(proj, '.sesame.toml'), 'project = "web"\n', { mode: 0o600 });
  fs.writeFileSync(path.join(proj, '.envrc'), 'use sesame\n');
  await startAgent(h);
  try {
    const allow = await runProcess('direnv', ['allow', proj], { env, cwd: base });
    assert.equal(allow.code, 0, allow.stderr);
    // direnv exec: each value as the child sees it.
    const viaExec = path.join(base, 'exec');
    fs.mkdirSync(viaExec);
    const dump = values.map(([k]) => `printf '%s' "$${k}" > '${viaExec}/${k}'`).join('; ');
    const ex = await runProcess('direnv', ['exec', proj, 'bash', '--norc', '-c', dump], { env, cwd: base });
    assert.equal(ex.code, 0, ex.stderr);
    for (const [k, v] of values) assert.ok(fs.readFileSync(path.join(viaExec, k)).equals(v), `direnv exec: ${k}`);
    // direnv export bash, as the shell hook uses it: in, then out again.
    const inDir = path.join(base, 'in');
    const outDir = path.join(base, 'out');
    fs.mkdirSync(inDir);
    fs.mkdirSync(outDir);
    const dumpTo = (dir: string): string => values.map(([k]) => `if [ -n "\${${k}+x}" ]; then printf '%s' "$${k}" > '${dir}/${k}'; else : > '${dir}/${k}.unset'; fi`).join('\n');
    const script = [`export SINGLE='set by hand'`, `cd '${proj}'`, 'eval "$(direnv export bash)"', dumpTo(inDir), `cd '${base}'`, 'eval "$(direnv export bash)"', dumpTo(outDir)].join('\n');
    const r = await runProcess('bash', ['--norc', '--noprofile', '-c', script], { env, cwd: base });
    assert.equal(r.code, 0, r.stderr);
    for (const [k, v] of values) assert.ok(fs.readFileSync(path.join(inDir, k)).equals(v), `direnv export: ${k}`);
    assert.equal(fs.readFileSync(path.join(outDir, 'SINGLE'), 'utf8'), 'set by hand', 'leaving restores the value set by hand');
    for (const [k] of values.filter(([n]) => n !== 'SINGLE')) assert.ok(fs.existsSync(path.join(outDir, `${k}.unset`)), `${k} unloaded on leaving`);
    assert.ok(!fs.existsSync(canary), 'no value may execute');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('direnv: use_sesame PROJECT names the project; without an agent it logs one clear line and loads nothing, never prompting', async (t) => {
  if (!requireTool(t, 'direnv', 'direnv')) return;
  const h = await initHome();
  assert.equal((await sesame(['projects', 'create', 'api'], { env: h.env })).code, 0);
  await setSecret(h, 'API_TOKEN', 'tok', ['-p', 'api']);
  const { base, env, proj } = direnvWorld(h);
  fs.writeFileSync(path.join(proj, '.envrc'), 'use sesame api\n');
  assert.equal((await runProcess('direnv', ['allow', proj], { env, cwd: base })).code, 0);
  const locked = await runProcess('direnv', ['exec', proj, 'sh', '-c', 'printf "[%s]" "${API_TOKEN-unset}"'], { env, cwd: base, timeoutMs: 30_000 });
  assert.match(locked.stderr, /sesame: nothing loaded: the vault is locked/);
  assert.doesNotMatch(locked.out, /tok/);
  await startAgent(h);
  try {
    const ok = await runProcess('direnv', ['exec', proj, 'sh', '-c', 'printf "[%s]" "$API_TOKEN"'], { env, cwd: base });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.out, '[tok]');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
