import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { BIN, ROOT, initHome, requireTool, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';

const self = `'${process.execPath}' '${BIN}'`;

/** A vault with projects default (API_KEY, APP_ID, DB_URL) and web; no agent, no passphrase: names only. */
async function setup(): Promise<{ h: TestHome; env: NodeJS.ProcessEnv }> {
  const h = await initHome();
  for (const k of ['API_KEY', 'APP_ID', 'DB_URL']) await setSecret(h, k, `value-of-${k}`);
  assert.equal((await sesame(['projects', 'create', 'web'], { env: h.env })).code, 0);
  await setSecret(h, 'WEB_ONLY', 'value-of-web', ['-p', 'web']);
  // No agent and no passphrase source: completion must not need to unlock (and cannot).
  return { h, env: { ...h.env, SESAME_PASSPHRASE_FILE: undefined } };
}

/** bash: what _sesame_complete puts in COMPREPLY for the words typed so far (the last one is being completed). */
async function bashComplete(env: NodeJS.ProcessEnv, words: string[]): Promise<string[]> {
  const arr = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `source <(${self} completion bash)\ncomplete -p sesame\nCOMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}\n_sesame_complete\nprintf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await runProcess('bash', ['--norc', '--noprofile', '-c', script], { env });
  assert.equal(r.code, 0, r.stderr);
  const [reg, ...lines] = r.out.split('\n').filter((l) => l !== '');
  assert.equal(reg, 'complete -o default -F _sesame_complete sesame');
  return lines;
}

test('bash completion offers commands, subcommands, options, project names and key names from the command table, without unlocking', async (t) => {
  if (!requireTool(t, 'bash', 'bash')) return;
  const { h, env } = await setup();
  assert.deepEqual(await bashComplete(env, ['sesame', 'ge']), ['get']);
  assert.ok((await bashComplete(env, ['sesame', ''])).includes('completion'));
  assert.deepEqual(await bashComplete(env, ['sesame', 'projects', 'u']), ['use']);
  assert.deepEqual(await bashComplete(env, ['sesame', 'get', 'AP']), ['API_KEY', 'APP_ID']);
  assert.deepEqual(await bashComplete(env, ['sesame', '-p', 'web', 'get', '']), ['WEB_ONLY']);
  assert.deepEqual(await bashComplete(env, ['sesame', 'get', '-p', '']), ['default', 'web']);
  assert.deepEqual(await bashComplete(env, ['sesame', 'env', '--format', 'f']), ['fish']);
  assert.deepEqual(await bashComplete(env, ['sesame', 'env', '--str']), ['--strict']);
  assert.deepEqual(await bashComplete(env, ['sesame', 'hook', '']), ['bash', 'zsh', 'fish', 'direnv', 'keys']);
  // After `--` the words belong to the command `run` starts: sesame offers nothing.
  assert.deepEqual(await bashComplete(env, ['sesame', 'run', '--', 'g']), []);
  h.cleanup();
});

test('fish completion (complete -C) offers commands and key names, and never a value', async (t) => {
  if (!requireTool(t, 'fish', 'fish')) return;
  const { h, env } = await setup();
  const script = `${self} completion fish | source\ncomplete -C 'sesame ge'\necho ---\ncomplete -C 'sesame get A'\necho ---\ncomplete -C 'sesame --project web get '`;
  const r = await runProcess('fish', ['--no-config', '-c', script], { env });
  assert.equal(r.code, 0, r.stderr);
  const [cmds, keys, web] = r.out.split('---\n').map((s) => s.split('\n').filter(Boolean));
  assert.deepEqual(cmds, ['get']);
  assert.deepEqual(keys, ['API_KEY', 'APP_ID']);
  assert.deepEqual(web, ['WEB_ONLY']);
  assert.doesNotMatch(r.out, /value-of/);
  h.cleanup();
});

test('zsh completion loads under compinit and registers _sesame for sesame', async (t) => {
  if (!requireTool(t, 'zsh', 'zsh')) return;
  const { h, env } = await setup();
  const script = `autoload -U compinit; compinit -u; source <(${self} completion zsh); print -r -- "$_comps[sesame]"; whence -w _sesame`;
  const r = await runProcess('zsh', ['-f', '-c', script], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.out.trim().split('\n'), ['_sesame', '_sesame: function']);
  h.cleanup();
});

test('completion of key names reads metadata only: it works on a locked vault and prints no value', async () => {
  const { h, env } = await setup();
  const r = await sesame(['completion', 'complete', '--', 'get', ''], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.out, 'API_KEY\nAPP_ID\nDB_URL\n');
  assert.doesNotMatch(r.out, /value-of/);
  h.cleanup();
});

test('restore and purge complete removed keys, history both kinds, get only live ones, projects rename the projects — all from metadata, nothing unlocked', async () => {
  const { h, env } = await setup();
  assert.equal((await sesame(['rm', 'APP_ID'], { env: h.env })).code, 0);
  const complete = async (...words: string[]): Promise<string> => {
    const r = await sesame(['completion', 'complete', '--', ...words], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.out, /value-of/);
    return r.out;
  };
  assert.equal(await complete('restore', ''), 'APP_ID\n');
  assert.equal(await complete('purge', ''), 'APP_ID\n');
  assert.equal(await complete('history', ''), 'API_KEY\nAPP_ID\nDB_URL\n');
  assert.equal(await complete('get', ''), 'API_KEY\nDB_URL\n');
  assert.equal(await complete('projects', 'rename', ''), 'default\nweb\n');
  h.cleanup();
});

test('zsh completes `sesame ge<TAB>` and a key name on a real terminal (pty), through compinit', async (t) => {
  if (!requireTool(t, 'zsh', 'zsh') || !requireTool(t, 'python3', 'python3')) return;
  const { h, env } = await setup();
  const driver = path.join(ROOT, 'test', 'helpers', 'pty-drive.py');
  const steps = [
    { send: `PS1='READY> '; autoload -U compinit; compinit -u; source <(${self} completion zsh); echo LOADED\n` },
    { expect: 'LOADED' },
    { expect: 'READY> ' },
    { send: 'sesame ge\t' },
    { expect: 'sesame get' },
    { send: 'DB\t' },
    { expect: 'DB_URL' },
    { send: '\x03' },
    { send: 'exit\n' },
  ];
  const r = await runProcess('python3', [driver, JSON.stringify(steps), 'zsh', '-f', '-i'], { env: { ...env, TERM: 'xterm' }, timeoutMs: 60_000 });
  const res = JSON.parse(r.out) as { output: string; error?: string };
  assert.equal(res.error, undefined, res.output);
  assert.match(res.output, /sesame get.*DB_URL/s);
  assert.doesNotMatch(res.output, /value-of/);
  h.cleanup();
});
