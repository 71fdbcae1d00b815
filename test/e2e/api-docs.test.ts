/**
 * Every example of docs/api.md runs as written: its code block is extracted and run as an ES
 * module that imports 'sesame' (the built package, resolved through its `exports`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, ROOT, initHome, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { startAgent, stopAgent } from '../helpers/agent.js';

/** The ```js blocks under "## Examples", by their ### heading. */
function examples(): Map<string, string> {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'api.md'), 'utf8');
  const part = doc.slice(doc.indexOf('## Examples'));
  const out = new Map<string, string>();
  for (const m of part.matchAll(/^### (.+)\n[\s\S]*?```js\n([\s\S]*?)```/gm)) out.set(m[1]!.trim(), m[2]!);
  return out;
}

/** A directory where `import 'sesame'` resolves to the package built in this tree. */
function packageDir(h: TestHome): string {
  const dir = fs.mkdtempSync(path.join(h.dir, '..', 'app-'));
  const pkg = path.join(dir, 'node_modules', 'sesame');
  fs.mkdirSync(pkg, { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  fs.symlinkSync(path.dirname(BIN), path.join(pkg, 'dist'));
  return dir;
}

async function runExample(h: TestHome, code: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; stderr: string }> {
  const dir = packageDir(h);
  const file = path.join(dir, 'example.mjs');
  fs.writeFileSync(file, code);
  return runProcess(process.execPath, [file], { env: { ...h.env, SESAME_PASSPHRASE_FILE: '', ...env }, cwd: dir });
}

const EX = examples();

test('docs/api.md has the three examples', () => {
  assert.deepEqual([...EX.keys()], ['Read one secret into a Buffer and wipe it', 'Run a command through exec, its output masked', 'Use a token from a container']);
});

test('the example "read one secret into a Buffer and wipe it" runs as written', async () => {
  const h = await initHome();
  await setSecret(h, 'API_KEY', 'sixteen-byte-key');
  try {
    await startAgent(h);
    const r = await runExample(h, EX.get('Read one secret into a Buffer and wipe it')!, {});
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, 'read 16 bytes\n');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('the example "run a command through exec, its output masked" runs as written', async () => {
  const h = await initHome();
  await setSecret(h, 'API_KEY', 'masked-in-the-example');
  try {
    await startAgent(h);
    const st = await runExample(h, "import { connect } from 'sesame'; const c = await connect(); process.stdout.write(JSON.stringify((await c.status()).ops)); c.close();", {});
    assert.ok((JSON.parse(st.out) as string[]).includes('exec'), 'the agent serves exec');
    const r = await runExample(h, EX.get('Run a command through exec, its output masked')!, {});
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, '<sesame:API_KEY>\n');
    assert.match(r.stderr, /exit 0, masked \{"API_KEY":1\}/);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('the example "use a token from a container" runs as written: a scoped token reads, an unknown one is DENIED 8', async () => {
  const h = await initHome();
  assert.equal((await sesame(['projects', 'create', 'work'], { env: h.env })).code, 0);
  await setSecret(h, 'DATABASE_URL', 'postgres://u:p@db/x', ['-p', 'work']);
  try {
    const made = await sesame(['token', 'new', '--project', 'work', '--keys', 'DATABASE_URL', '--ops', 'get'], { env: h.env });
    assert.equal(made.code, 0, made.stderr);
    await startAgent(h);
    const code = EX.get('Use a token from a container')!;
    const sock = path.join(h.dir, 'agent.sock');
    const ok = await runExample(h, code, { SESAME_AGENT_SOCK: sock, SESAME_AGENT_TOKEN: made.out.trim() });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.out, 'got 19 bytes\n');
    const bad = await runExample(h, code, { SESAME_AGENT_SOCK: sock, SESAME_AGENT_TOKEN: 'ses_forged' });
    assert.equal(bad.code, 8);
    assert.match(bad.stderr, /^DENIED \(exit 8, token_unknown\)/);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
