import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, initHome, requireTool, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { startAgent, stopAgent } from '../helpers/agent.js';

/** Values that break naive quoting, plus a 64 KiB one; none may execute, all must come back exactly. */
function hostileValues(canary: string): Array<[string, Buffer]> {
  const big = Buffer.alloc(64 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = [0x27, 0x22, 0x24, 0x60, 0x5c, 0x0a, 0x41, 0x28, 0x29, 0x3b][i % 10]!;
  return [
    ['SINGLE', Buffer.from(`it's '' ''' end'`)],
    ['DOUBLE', Buffer.from(`say "hi" "" \\" done`)],
    ['SUBST', Buffer.from(`$(touch ${canary}) \`touch ${canary}\` \${HOME} $HOME (touch ${canary})`)],
    ['NEWLINES', Buffer.from('line1\nline2\r\n\nexport PATH=/evil\n')],
    ['BACKSLASH', Buffer.from('a\\b\\\\c\\n\\t\\')],
    ['UNICODE', Buffer.from('héllo wörld ✓ 😀 ﷽')],
    ['GLOB', Buffer.from('* ? [a-z] ~ ~root {a,b} !! !$ %1 # ; | & < > >> 2>&1')],
    ['FISHY', Buffer.from(`\\' \\\\' ' (echo x) $status %self`)],
    ['BYTES', Buffer.from([0x66, 0x80, 0xff, 0xfe, 0xc3, 0x28, 0x01, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x7f])],
    ['BIG', big],
  ];
}

async function storeAll(h: TestHome, values: Array<[string, Buffer]>): Promise<void> {
  for (const [k, v] of values) await setSecret(h, k, v);
}

/** Shell code writing each variable's value to DIR/NAME, or DIR/NAME.unset when it is not set. */
function dumps(shell: string, names: string[], dir: string): string {
  return names
    .map((k) =>
      shell === 'fish'
        ? `if set -q ${k}; printf '%s' "$${k}" > '${dir}/${k}'; else; touch '${dir}/${k}.unset'; end`
        : `if [ -n "\${${k}+x}" ]; then printf '%s' "$${k}" > '${dir}/${k}'; else : > '${dir}/${k}.unset'; fi`,
    )
    .join('\n');
}

const node = (shell: string): string => (shell === 'fish' ? `'${process.execPath}' '${BIN}'` : `'${process.execPath}' '${BIN}'`);
const shellArgs = (shell: string, script: string): string[] => (shell === 'fish' ? ['--no-config', '-c', script] : shell === 'zsh' ? ['-f', '-c', script] : ['--norc', '--noprofile', '-c', script]);

for (const shell of ['bash', 'zsh', 'fish'] as const) {
  test(`${shell} hook: sesame_load round-trips hostile values exactly through an agent, nothing executes, and sesame_unload restores a variable the user had set`, async (t) => {
    if (!requireTool(t, shell, shell)) return;
    const h = await initHome();
    const canary = path.join(h.dir, '..', 'pwned');
    const values = hostileValues(canary);
    await storeAll(h, values);
    await startAgent(h);
    try {
      const base = path.join(h.dir, '..');
      const loaded = path.join(base, 'loaded');
      const after = path.join(base, 'after');
      fs.mkdirSync(loaded);
      fs.mkdirSync(after);
      const names = values.map(([k]) => k);
      const hook = shell === 'fish' ? `${node(shell)} hook fish | source` : `eval "$(${node(shell)} hook ${shell})"`;
      // SINGLE: an exported variable; DOUBLE: a plain shell variable (not exported) — each must come back as it was.
      const setUser = shell === 'fish' ? `set -gx SINGLE "mine: it's"; set -g DOUBLE plain` : `export SINGLE="mine: it's"; DOUBLE=plain`;
      const childView = `sh -c 'printf "%s|%s" "\${SINGLE-unset}" "\${DOUBLE-unset}"' > '${after}/child'`;
      const script = [hook, setUser, shell === 'fish' ? 'sesame_load; or exit 9' : 'sesame_load || exit 9', dumps(shell, names, loaded), 'sesame_unload', dumps(shell, names, after), childView].join(
        '\n',
      );
      // No passphrase file: the agent is the only way in, so this is prompt-free by construction.
      const env = { ...h.env, SESAME_PASSPHRASE_FILE: undefined };
      const r = await runProcess(shell, shellArgs(shell, script), { env, cwd: base });
      assert.equal(r.code, 0, r.stderr);
      for (const [k, v] of values) {
        const got = fs.readFileSync(path.join(loaded, k));
        assert.ok(got.equals(v), `${shell}: ${k} came back as ${JSON.stringify(got.toString('latin1').slice(0, 200))}`);
      }
      assert.equal(fs.readFileSync(path.join(after, 'SINGLE'), 'utf8'), "mine: it's", 'the user-set value is back');
      assert.equal(fs.readFileSync(path.join(after, 'DOUBLE'), 'utf8'), 'plain', 'the shell variable is back');
      assert.equal(fs.readFileSync(path.join(after, 'child'), 'utf8'), "mine: it's|unset", 'exported stays exported; a shell variable is not exported again');
      for (const k of names.filter((n) => n !== 'SINGLE' && n !== 'DOUBLE')) assert.ok(fs.existsSync(path.join(after, `${k}.unset`)), `${shell}: ${k} is unset again`);
      assert.ok(!fs.existsSync(canary), 'no value may execute');
    } finally {
      await stopAgent(h);
      h.cleanup();
    }
  });

  test(`${shell} hook --auto: cd into a directory with a .sesame.toml loads its project, cd out unloads exactly that, and a hand-changed variable is left alone`, async (t) => {
    if (!requireTool(t, shell, shell)) return;
    const h = await initHome();
    assert.equal((await sesame(['projects', 'create', 'web'], { env: h.env })).code, 0);
    await setSecret(h, 'API_KEY', 'web-key', ['-p', 'web']);
    await setSecret(h, 'TOKEN', "t'ok$(x)", ['-p', 'web']);
    await startAgent(h);
    try {
      const base = path.join(h.dir, '..');
      const app = path.join(base, 'app');
      fs.mkdirSync(path.join(app, 'sub'), { recursive: true });
      fs.writeFileSync(path.join(app, '.sesame.toml'), 'project = "web"\n', { mode: 0o600 });
      const d = (n: string): string => {
        fs.mkdirSync(path.join(base, n));
        return path.join(base, n);
      };
      const [outside, inside, deeper, left] = [d('o1'), d('o2'), d('o3'), d('o4')];
      const hook = shell === 'fish' ? `${node(shell)} hook fish --auto | source` : `eval "$(${node(shell)} hook ${shell} --auto)"`;
      const steps = [
        hook,
        dumps(shell, ['API_KEY', 'TOKEN'], outside),
        `cd '${app}'`,
        dumps(shell, ['API_KEY', 'TOKEN'], inside),
        `cd sub`,
        dumps(shell, ['API_KEY', 'TOKEN'], deeper),
        shell === 'fish' ? `set -gx TOKEN 'changed by hand'` : `export TOKEN='changed by hand'`,
        `cd '${base}'`,
        dumps(shell, ['API_KEY', 'TOKEN'], left),
      ];
      const env = { ...h.env, SESAME_PASSPHRASE_FILE: undefined };
      // bash runs PROMPT_COMMAND only when interactive: feed it the script on stdin with -i.
      const r =
        shell === 'bash'
          ? await runProcess('bash', ['--norc', '--noprofile', '-i'], { env: { ...env, PS1: '' }, cwd: base, input: `${steps.join('\n')}\nexit 0\n` })
          : await runProcess(shell, shellArgs(shell, steps.join('\n')), { env, cwd: base });
      assert.equal(r.code, 0, r.stderr);
      const read = (dir: string, k: string): string | null => (fs.existsSync(path.join(dir, `${k}.unset`)) ? null : fs.readFileSync(path.join(dir, k), 'utf8'));
      assert.equal(read(outside, 'API_KEY'), null);
      assert.equal(read(inside, 'API_KEY'), 'web-key');
      assert.equal(read(inside, 'TOKEN'), "t'ok$(x)");
      assert.equal(read(deeper, 'API_KEY'), 'web-key', 'a subdirectory keeps the project');
      assert.equal(read(left, 'API_KEY'), null, 'leaving unloads');
      assert.equal(read(left, 'TOKEN'), 'changed by hand', 'a value changed by hand is never clobbered');
      assert.match(r.stderr, /left TOKEN alone/);
    } finally {
      await stopAgent(h);
      h.cleanup();
    }
  });

  test(`${shell} hook: without an agent or a non-interactive unlock, sesame_load fails with one clear line and never prompts or hangs`, async (t) => {
    if (!requireTool(t, shell, shell)) return;
    const h = await initHome();
    await setSecret(h, 'API_KEY', 'v');
    const base = path.join(h.dir, '..');
    const hook = shell === 'fish' ? `${node(shell)} hook fish | source` : `eval "$(${node(shell)} hook ${shell})"`;
    const script = `${hook}\nsesame_load\necho "status=$${shell === 'fish' ? 'status' : '?'}"\n${dumps(shell, ['API_KEY'], base)}`;
    const r = await runProcess(shell, shellArgs(shell, script), { env: { ...h.env, SESAME_PASSPHRASE_FILE: undefined }, cwd: base, timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, /status=1/);
    assert.deepEqual(r.stderr.trim().split('\n'), ['sesame: nothing loaded: the vault is locked (run `sesame unlock` to start an agent; the hook never prompts)']);
    assert.ok(fs.existsSync(path.join(base, 'API_KEY.unset')));
    h.cleanup();
  });
}

test('hook text never contains a secret value: it is the same before and after secrets are stored', async () => {
  const h = await initHome();
  const before = await sesame(['hook', 'bash', '--auto'], { env: h.env });
  await setSecret(h, 'API_KEY', 'super-secret-value-123');
  const after = await sesame(['hook', 'bash', '--auto'], { env: h.env });
  assert.equal(after.out, before.out);
  for (const target of ['bash', 'zsh', 'fish', 'direnv']) assert.doesNotMatch((await sesame(['hook', target], { env: h.env })).out, /super-secret-value-123/);
  h.cleanup();
});
