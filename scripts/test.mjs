// Runs the whole suite: type-check and compile src/ and test/ to build/, then node's test
// runner over every build/test/**/*.test.js (the CLI bundle in dist/ is built by pretest).
// Extra arguments filter test files by substring: `npm test -- agent`.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

// SESAME_BUILD=DIR compiles the tests into DIR (default build/), so parallel runs do not collide.
const buildDir = process.env.SESAME_BUILD ?? 'build';
rmSync(buildDir, { recursive: true, force: true });
// Type errors fail the run, but the tests still run so one report shows everything.
const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--outDir', buildDir], { stdio: 'inherit' });

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
const files = walk(join(buildDir, 'test'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', ...files], { stdio: 'inherit' });
// The linter (type-aware rules and the single-door import rules) and the formatter's check
// run on the whole tree after the tests; SESAME_SKIP_LINT=1 skips them for a quick local run
// of a few test files (never in CI).
let lintFailed = false;
if (process.env.SESAME_SKIP_LINT !== '1' || process.env.CI === 'true') {
  const eslint = spawnSync(process.execPath, ['node_modules/eslint/bin/eslint.js', 'src', 'test', 'scripts', 'bench'], { stdio: 'inherit' });
  const prettier = spawnSync(process.execPath, ['node_modules/prettier/bin/prettier.cjs', '--check', '--log-level', 'warn', 'src', 'test'], { stdio: 'inherit' });
  if (eslint.status !== 0) console.error('lint failed (see above): npm run lint');
  if (prettier.status !== 0) console.error('formatting differs (see above): npm run format');
  lintFailed = eslint.status !== 0 || prettier.status !== 0;
}
if (tsc.status !== 0) console.error('type check failed (see above)');
process.exit(tsc.status !== 0 || lintFailed ? 1 : (r.status ?? 1));
