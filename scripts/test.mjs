// Runs the whole suite: type-check and compile src/ and test/ to build/, then node's test
// runner over every build/test/**/*.test.js (the CLI bundle in dist/ is built by pretest).
// Extra arguments filter test files by substring: `npm test -- agent`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
// The suite's registry (test/helpers/suite-registry.ts): the homes the tests made and the
// secrets they used, for the scan that runs after every test file has finished.
const registry = mkdtempSync(join(tmpdir(), 'sesame-suite-'));
const testEnv = { ...process.env, SESAME_TEST_REGISTRY: registry };
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', ...files], { stdio: 'inherit', env: testEnv });
// The post-step: no file of any home the suite wrote holds a secret it used. It runs after a
// full run (where it fails if the helpers registered no home: a scan of nothing proves
// nothing), and after a filtered run that made homes.
let scanFailed = false;
const scan = join(buildDir, 'test', 'post', 'audit-secrets-scan.post.js');
if (filters.length === 0 || existsSync(join(registry, 'homes'))) {
  const s = spawnSync(process.execPath, ['--test', scan], { stdio: 'inherit', env: testEnv });
  scanFailed = s.status !== 0;
  if (scanFailed) console.error('the post-suite secret scan failed (see above)');
}
rmSync(registry, { recursive: true, force: true });
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
process.exit(tsc.status !== 0 || lintFailed || scanFailed ? 1 : (r.status ?? 1));
