/**
 * One grammar for errors, through the built CLI: a usage error is one `error:` line (and a
 * hint) on stderr, exit 2, never the help on stdout; errors point at the command's own help;
 * `--json` errors are JSON on stdout for every command; JSON keys are snake_case; every
 * error code and remedy has a hint; docs/cli.md documents exactly the options each command
 * has; Ctrl-C at a prompt exits 130.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, ROOT, initHome, requireTool, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { startAgent, stopAgent } from '../helpers/agent.js';

/** Every command word list of the table, read from the built CLI's own help. */
async function allCommands(h: TestHome): Promise<string[][]> {
  const main = await sesame(['--help'], { env: h.env });
  const block = main.out.split('\ncommands:\n')[1]!.split('\n\n')[0]!;
  const out: string[][] = [];
  for (const line of block.split('\n')) {
    const words = line
      .trim()
      .split(/\s{2,}/)[0]!
      .split(' ');
    if (words[0] === 'help' || words[0] === 'version') continue;
    const sub = words[1] && /^[a-z-]+$/.test(words[1]) && !/^[A-Z]/.test(words[1]) ? words[1] : undefined;
    const g = await sesame([words[0]!, '--help'], { env: h.env });
    out.push(sub && g.out.startsWith(`usage: sesame ${words[0]} `) && g.out.includes(' | ') ? [words[0]!, sub] : [words[0]!]);
  }
  return [...new Map(out.map((w) => [w.join(' '), w])).values()];
}

function assertOneErrorLine(r: { code: number | null; out: string; stderr: string }, code: number, what: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.out, '', 'nothing (certainly not the help) on stdout');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.filter((l) => l.startsWith('error: ')).length, 1, r.stderr);
  assert.match(lines[0]!, what);
  assert.ok(lines.length <= 2 && (lines.length === 1 || lines[1]!.startsWith('hint: ')), r.stderr);
}

test('an unknown global option, a missing option value and `sesame -- get X` are one error line on stderr, exit 2, never the help', async () => {
  const h = await initHome();
  try {
    assertOneErrorLine(await sesame(['--nope', 'get', 'X'], { env: h.env }), 2, /^error: unknown option --nope/);
    assertOneErrorLine(await sesame(['--homr', '/x', 'list'], { env: h.env }), 2, /^error: unknown option --homr \(did you mean --home\?\)/);
    assertOneErrorLine(await sesame(['get', 'X', '--project'], { env: h.env }), 2, /^error: option --project needs a value/);
    assertOneErrorLine(await sesame(['--project'], { env: h.env }), 2, /^error: option --project needs a value/);
    assertOneErrorLine(await sesame(['--', 'get', 'X'], { env: h.env }), 2, /^error: no command before `--`/);
    assertOneErrorLine(await sesame([], { env: h.env }), 2, /^error: no command given/);
    assertOneErrorLine(await sesame(['help', 'nosuch'], { env: h.env }), 2, /^error: no command or help topic "nosuch"/);
    const help = await sesame(['--help'], { env: h.env });
    assert.equal(help.code, 0);
    assert.match(help.out, /\n {2}version +print the version/);
    assert.match(help.out, /--version +print the version/);
    assert.match(help.out, /more: sesame help TOPIC \(/, 'the footer points at `sesame help TOPIC`, which works after install');
    assert.doesNotMatch(help.out, /see docs\/|github\.com/);
  } finally {
    h.cleanup();
  }
});

test("a usage error points to the command's own help", async () => {
  const h = await initHome();
  try {
    for (const [args, helpOf] of [
      [['get'], 'get'],
      [['get', 'K', '--bogus'], 'get'],
      [['agent', 'start', '--idle'], 'agent start'],
      [['projects', 'create'], 'projects create'],
      [['env', '--format', 'xml'], 'env'],
    ] as Array<[string[], string]>) {
      const r = await sesame(args, { env: h.env });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      if (!/--format/.test(r.stderr)) assert.match(r.stderr, new RegExp(`hint: see \`sesame ${helpOf} --help\``), args.join(' '));
      const again = await sesame([...helpOf.split(' '), '--help'], { env: h.env });
      assert.equal(again.code, 0, `the help it points to exists: ${helpOf}`);
    }
  } finally {
    h.cleanup();
  }
});

test('--json errors go to stdout as JSON for every command, run included', async () => {
  const h = await initHome();
  try {
    const commands = await allCommands(h);
    assert.ok(commands.length > 25, `found ${commands.length}`);
    for (const words of commands) {
      const r = await sesame([...words, '--json', '--no-such-option'], { env: h.env });
      assert.equal(r.code, 2, `${words.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, '', `${words.join(' ')} says nothing on stderr`);
      const e = JSON.parse(r.out) as Record<string, unknown>;
      assert.equal(e.code, 'USAGE', words.join(' '));
      assert.equal(typeof e.hint, 'string', words.join(' '));
    }
    const run = await sesame(['run', '--json', '--', 'no-such-command-xyz'], { env: h.env });
    assert.equal(run.code, 127);
    assert.equal((JSON.parse(run.out) as { code: string }).code, 'NOT_FOUND');
    const nf = await sesame(['get', 'NOPE', '--json'], { env: h.env });
    assert.equal(nf.code, 4);
    assert.equal((JSON.parse(nf.out) as { code: string }).code, 'NOT_FOUND');
  } finally {
    h.cleanup();
  }
});

/** Every key at every level of a JSON document (object keys that are user names are listed in `names`). */
function badKeys(v: unknown, where: string, names: ReadonlySet<string>): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => badKeys(x, `${where}[${i}]`, names));
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, x]) => [...(/^[a-z][a-z0-9_]*$/.test(k) || names.has(k) ? [] : [`${where}.${k}`]), ...badKeys(x, `${where}.${k}`, names)]);
}

test('every --json output uses snake_case keys, and a status says null for what it cannot tell', async () => {
  const h = await initHome();
  try {
    await setSecret(h, 'API_KEY', 'v1');
    const names = new Set(['API_KEY']);
    const runs: string[][] = [
      ['status'],
      ['whoami'],
      ['list'],
      ['projects', 'list'],
      ['agent', 'status'],
      ['token', 'list'],
      ['profile', 'list'],
      ['profile', 'check'],
      ['audit', 'head'],
      ['audit', 'verify'],
      ['audit', 'show'],
      ['get', 'API_KEY'],
      ['env'],
      ['doctor'],
      ['projects', 'create', 'other'],
    ];
    const check = async (words: string[], input?: string): Promise<void> => {
      const r = await sesame([...words, '--json'], { env: h.env, ...(input !== undefined ? { input } : {}) });
      assert.ok(r.out.trim().length, `${words.join(' ')} printed JSON: ${r.stderr}`);
      const bad = badKeys(JSON.parse(r.out), words.join(' '), names);
      assert.deepEqual(bad, [], 'keys that are not snake_case');
    };
    for (const w of runs) await check(w);
    await check(['set', 'OTHER'], 'x');
    const status = JSON.parse((await sesame(['status', '--json'], { env: h.env })).out) as { project: Record<string, unknown>; unlock: Array<Record<string, unknown>>; agent: Record<string, unknown> };
    assert.equal(status.project.file, null, 'no project file: null, not missing');
    for (const t of status.unlock) assert.ok('detail' in t, `tier ${String(t.tier)} has a detail (null when none)`);
    assert.equal(status.agent.pid, null);
    await startAgent(h);
    for (const w of [['agent', 'status'], ['status'], ['agent', 'start', '--background'], ['get', 'API_KEY'], ['doctor']]) await check(w);
    await check(['agent', 'stop']);
    await check(['lock']);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('every error code and every remedy has a hint', async () => {
  const { ERROR_CODES, REMEDIES, SesameError } = await import('../../src/core/errors.js');
  const { DEFAULT_HINTS, renderRemedy } = await import('../../src/cli/hints.js');
  for (const c of ERROR_CODES) assert.ok(DEFAULT_HINTS[c]?.length, `no default hint for ${c}`);
  for (const r of REMEDIES) assert.ok(renderRemedy(r, { project: 'p', tier: 'session' })?.length, `no words for remedy ${r}`);
  // Through the CLI: an error made without a hint still prints one.
  const h = await initHome();
  try {
    const r = await sesame(['audit', 'verify', '--expect-head', 'nonsense'], { env: h.env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\nhint: \S/);
  } finally {
    h.cleanup();
  }
  assert.ok(new SesameError('INVALID', 'x').hint === undefined, 'the core stays CLI-free: the CLI supplies the default');
});

test('docs/cli.md documents exactly the options of every command, both ways', async () => {
  const h = await initHome();
  try {
    const md = fs.readFileSync(path.join(ROOT, 'docs', 'cli.md'), 'utf8');
    const section = md.split('\n## Options by command\n')[1];
    assert.ok(section, 'docs/cli.md has an "Options by command" table');
    const documented = new Map<string, string[]>();
    for (const line of section.split('\n## ')[0]!.split('\n')) {
      const m = /^\| `([a-z -]+)` \| (.*) \|$/.exec(line);
      if (m) documented.set(m[1]!, [...m[2]!.matchAll(/--([a-z-]+)/g)].map((x) => x[1]!).sort());
    }
    const actual = new Map<string, string[]>();
    for (const words of await allCommands(h)) {
      const r = await sesame([...words, '--help'], { env: h.env });
      const opts = r.out.split('\noptions:\n')[1] ?? '';
      actual.set(words.join(' '), [...opts.matchAll(/^ {2}(?:-\w, )?--([a-z-]+)/gm)].map((x) => x[1]!).sort());
    }
    assert.deepEqual([...documented.keys()].sort(), [...actual.keys()].sort(), 'the same commands in docs/cli.md and the command table');
    for (const [c, flags] of actual) assert.deepEqual(documented.get(c), flags, `options of ${c}`);
  } finally {
    h.cleanup();
  }
});

test('Ctrl-C at a prompt exits 130 and stores nothing', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const h = await initHome();
  try {
    const env = { ...h.env };
    delete env.SESAME_PASSPHRASE_FILE;
    const driver = path.join(ROOT, 'test', 'helpers', 'pty-drive.py');
    const r = await runProcess('python3', [driver, JSON.stringify([{ expect: 'Passphrase' }, { send: '\u0003' }]), process.execPath, BIN, 'set', 'K'], { env });
    const res = JSON.parse(r.out) as { status: number; output: string };
    assert.equal(res.status, 130, res.output);
    assert.match(res.output, /cancelled/);
    assert.equal((await sesame(['list'], { env: h.env })).out, '');
  } finally {
    h.cleanup();
  }
});
