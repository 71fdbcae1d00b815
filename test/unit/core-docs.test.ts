/**
 * Every export of src/core that does something — function, class, const or let — states its
 * contract in a doc comment (`/** … *\/` right above it): what it returns, what it throws,
 * its security caveat. Types and interfaces document themselves through their fields and
 * are not checked. The scan is the TypeScript compiler's parse (ts.getJSDocCommentsAndTags).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { ROOT } from '../helpers/cli.js';

const CORE = path.join(ROOT, 'src/core');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? tsFiles(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : []));
}

const exported = (n: ts.Node): boolean => ts.canHaveModifiers(n) && (ts.getModifiers(n) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
const documented = (n: ts.Node): boolean => ts.getJSDocCommentsAndTags(n).some((d) => ts.isJSDoc(d) && (d.comment !== undefined || (d.tags?.length ?? 0) > 0));

/** The exports of one file that lack a doc comment, as "file:line name". */
export function undocumentedExports(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const seen = new Map<string, { node: ts.Node; ok: boolean }>(); // overloads: one doc suffices
  for (const st of sf.statements) {
    if (!exported(st)) continue;
    if (ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) {
      const name = st.name?.text ?? 'default';
      const prev = seen.get(name);
      seen.set(name, { node: prev?.node ?? st, ok: (prev?.ok ?? false) || documented(st) });
    } else if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) seen.set(d.name.getText(sf), { node: st, ok: documented(st) });
    }
  }
  return [...seen].filter(([, v]) => !v.ok).map(([name, v]) => `${path.relative(ROOT, file)}:${sf.getLineAndCharacterOfPosition(v.node.getStart(sf)).line + 1} ${name}`);
}

test('every exported function, class and constant of src/core states its contract in a doc comment', () => {
  const missing = tsFiles(CORE).flatMap((f) => undocumentedExports(f, fs.readFileSync(f, 'utf8')));
  assert.deepEqual(missing, []);
});

test('the doc scan sees a missing comment, a plain // comment, and an overload documented once', () => {
  const src = [
    '/** Documented. */',
    'export function a(): void {}',
    'export function b(): void {}',
    '// not a doc comment',
    'export const c = 1;',
    '/** One doc for both overloads. */',
    'export function d(x: string): string;',
    'export function d(x: number): number;',
    'export function d(x: unknown): unknown { return x; }',
    'export class E {}',
    'export interface F { x: number }',
  ].join('\n');
  assert.deepEqual(
    undocumentedExports(path.join(CORE, 'x.ts'), src).map((s) => s.split(' ')[1]),
    ['b', 'c', 'E'],
  );
});
