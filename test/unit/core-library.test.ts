/**
 * src/core is a library: it never words a sesame command (`sesame agent start` is the CLI's
 * text, rendered from an error's machine-readable remedy by src/cli/hints.ts), never ends
 * the process, and never touches argv, the console or the standard streams — the process
 * that hosts it (the CLI, the agent entry) does those. The scan is the TypeScript
 * compiler's own parse: comments may name commands, string and template literals may not.
 * No exceptions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { ROOT } from '../helpers/cli.js';
import { SesameError, setHintRenderer, type Remedy } from '../../src/core/errors.js';
import { EXIT_CODES } from '../../src/cli/output.js';
import { renderRemedy } from '../../src/cli/hints.js';

const CORE = path.join(ROOT, 'src/core');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? tsFiles(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : []));
}

/** Forbidden uses in one source file, as "file:line what". */
export function libraryViolations(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const out: string[] = [];
  const at = (n: ts.Node, what: string): void => {
    out.push(`${path.relative(ROOT, file)}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1} ${what}`);
  };
  const visit = (n: ts.Node): void => {
    if (ts.isStringLiteralLike(n) || ts.isTemplateHead(n) || ts.isTemplateMiddle(n) || ts.isTemplateTail(n)) {
      if (/`sesame /.test(n.text)) at(n, 'words a sesame command (give a remedy; src/cli/hints.ts words it)');
    }
    if (ts.isPropertyAccessExpression(n) && ts.isIdentifier(n.expression)) {
      const obj = n.expression.text;
      const prop = n.name.text;
      if (obj === 'console') at(n, `console.${prop}`);
      if (obj === 'process' && ['exit', 'exitCode', 'argv', 'stdout', 'stderr', 'stdin'].includes(prop)) at(n, `process.${prop}`);
    }
    if (ts.isElementAccessExpression(n) && ts.isIdentifier(n.expression) && (n.expression.text === 'process' || n.expression.text === 'console')) at(n, `${n.expression.text}[…]`);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

test('src/core never words a sesame command, exits, or touches argv, the console or the standard streams', () => {
  const files = tsFiles(CORE);
  assert.ok(files.length > 30, 'the scan sees the core');
  const bad = files.flatMap((f) => libraryViolations(f, fs.readFileSync(f, 'utf8')));
  assert.deepEqual(bad, []);
});

test('the scan catches each forbidden use, and ignores comments', () => {
  const src = [
    '// run `sesame init` — a comment may say it',
    "const a = 'see `sesame list`';",
    'const b = `run \\`sesame rm ${k}\\` now`;',
    'process.exit(1);',
    'process.exitCode = 2;',
    "console.error('x');",
    'const c = process.argv[2];',
    "process.stdout.write('x');",
    "process['stderr'];",
  ].join('\n');
  const bad = libraryViolations(path.join(CORE, 'x.ts'), src);
  assert.equal(bad.length, 8, bad.join('\n'));
  assert.ok(!bad.some((b) => b.includes(':1 ')), 'the comment is not flagged');
});

test('no exit-code table lives in src/core; the CLI owns it', () => {
  for (const f of tsFiles(CORE)) assert.doesNotMatch(fs.readFileSync(f, 'utf8'), /EXIT_CODES|exitCodeOf/, path.relative(ROOT, f));
  assert.deepEqual([EXIT_CODES.USAGE, EXIT_CODES.LOCKED, EXIT_CODES.NOT_FOUND, EXIT_CODES.DENIED], [2, 3, 4, 8]);
});

test('a core error carries a machine-readable remedy; the installed CLI renderer words it as the hint', () => {
  const e = new SesameError('NOT_FOUND', 'no key K in project p', { remedy: 'list_keys', detail: { key: 'K', project: 'p' } });
  setHintRenderer(undefined);
  try {
    assert.equal(e.hint, undefined, 'without a renderer the core has no words');
    assert.equal(e.remedy, 'list_keys');
  } finally {
    setHintRenderer(renderRemedy);
  }
  assert.equal(e.hint, 'see `sesame list`');
  assert.deepEqual(JSON.parse(JSON.stringify(e)), { code: 'NOT_FOUND', message: 'no key K in project p', hint: 'see `sesame list`' }, 'the wire carries the rendered text');
  const given = new SesameError('USAGE', 'x', { hint: 'create another project first', remedy: 'projects_list' });
  assert.equal(given.hint, 'create another project first', 'a CLI-free hint given as text wins');
});

test('every remedy has CLI words, with its parameters from detail', () => {
  // A Record over the union: a new remedy without an entry here does not compile.
  const all: Record<Remedy, Record<string, unknown>> = {
    init: {},
    init_home: {},
    status: {},
    list_keys: {},
    projects_list: {},
    projects_create: {},
    project_create: { project: 'work' },
    rm_keys: { project: 'default' },
    import_lenient: {},
    agent_start: {},
    agent_restart: {},
    agent_upgrade: {},
    agent_running: {},
    agent_socket_taken: {},
    agent_status: {},
    unlock_from_terminal: {},
    wrong_passphrase: { tier: 'session' },
    passphrase_reseal: {},
    passphrase_acknowledge: {},
    key_history: { key: 'K' },
    rm_then_purge: { key: 'K' },
    project_copy_keys: {},
    agent_writes: {},
  };
  for (const [r, d] of Object.entries(all)) assert.ok((renderRemedy(r as Remedy, d) ?? '').length > 10, r);
  assert.equal(renderRemedy('rm_keys', { project: 'default' }), 'remove its keys one by one with `sesame rm KEY --project default` if you want it empty');
  assert.equal(renderRemedy('project_create', { project: 'work' }), 'create it with `sesame projects create work`');
  assert.equal(renderRemedy('rm_then_purge', { key: 'K' }), 'run `sesame rm K` first, then `sesame purge K`');
  for (const tier of ['session', 'sealed', 'keyring']) assert.match(renderRemedy('wrong_passphrase', { tier }) ?? '', /`sesame /, tier);
  assert.equal(renderRemedy('wrong_passphrase', { tier: '__proto__' }), undefined, 'an unknown tier has no words, never a prototype member');
  assert.equal(renderRemedy('toString' as Remedy, {}), undefined, 'an unknown remedy from a newer core has no words, never a prototype member');
});
