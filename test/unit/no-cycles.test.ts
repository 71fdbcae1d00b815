/**
 * The import graph of src/ has no cycle. Every edge counts:
 * - static imports and re-exports (`import … from`, `export … from`, `import '…'`);
 * - `import type`: erased at run time, but still a dependency between layers (the
 *   reader.ts ⇄ agent-reader.ts cycle this test was written against had a type edge), and
 *   one edit turns it into a value import;
 * - dynamic `import('…')`: laziness changes *when* a module loads, not *what depends on
 *   what* (the VERSION and passphrase-tier cycles both ran through a dynamic import, and a
 *   dynamic import of a module that imports you back sees it half-initialised).
 * The scan is the TypeScript compiler's own (ts.preProcessFile), not a regular expression,
 * so comments and strings that look like imports are not edges.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { ROOT } from '../helpers/cli.js';

const SRC = path.join(ROOT, 'src');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? tsFiles(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : []));
}

/** The src/ files `file` imports (relative specifiers only; `.js` names its `.ts` source). */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), fileName).replace(/\.js$/, '.ts');
    if (target.startsWith(SRC + path.sep)) out.push(target);
  }
  return out;
}

/** Every elementary cycle reachable by DFS, each reported once (as first found). */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of [...graph.keys()].sort()) if (!state.has(n)) visit(n);
  return cycles;
}

test('the import scan sees static, type-only, re-export and dynamic imports, and not comments', () => {
  const f = path.join(SRC, 'cli', 'x.ts');
  const text = "import { a } from './a.js';\nimport type { B } from './b.js';\nexport { c } from './c.js';\nconst d = await import('./d.js');\n// import { e } from './e.js';\nimport 'node:fs';\n";
  assert.deepEqual(
    importsOf(f, text).map((p) => path.basename(p)),
    ['a.ts', 'b.ts', 'c.ts', 'd.ts'],
  );
});

test('the cycle finder reports a cycle and passes a tree', () => {
  assert.deepEqual(
    findCycles(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', ['a']],
      ]),
    ),
    [['a', 'b', 'c', 'a']],
  );
  assert.deepEqual(
    findCycles(
      new Map([
        ['a', ['b', 'c']],
        ['b', ['c']],
        ['c', []],
      ]),
    ),
    [],
  );
});

test('no module in src/ imports itself back, statically, by type or dynamically', () => {
  const graph = new Map<string, string[]>();
  for (const f of tsFiles(SRC)) graph.set(f, importsOf(f, fs.readFileSync(f, 'utf8')));
  const cycles = findCycles(graph).map((c) => c.map((f) => path.relative(ROOT, f)).join(' → '));
  assert.deepEqual(cycles, [], `import cycles in src/:\n  ${cycles.join('\n  ')}`);
});
