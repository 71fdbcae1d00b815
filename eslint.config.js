// ESLint (flat config): typescript-eslint's type-aware strict rules, plus sesame's layer rules.
// `npm run lint`. Formatting is prettier's job (`npm run format:check`), not ESLint's.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * The single doors (docs/threat-model.md): one module loads libsodium, one loads koffi. A door
 * is closed to every file but its own, for every way of loading a module: `import … from`,
 * `import()`, `require()` with a string or a template (native.ts loads koffi's binary by a
 * template path). Type-only imports load nothing and stay allowed.
 */
const DOORS = {
  'sodium-native': { file: 'src/core/crypto/sodium.ts', pattern: '^sodium-native' },
  koffi: { file: 'src/core/os/native.ts', pattern: '^(koffi|@koromix/koffi)' },
};

function doorRules(open) {
  const shut = Object.entries(DOORS).filter(([name]) => name !== open);
  const message = (name) => `only ${DOORS[name].file} may load ${name} (the single door)`;
  return {
    'no-restricted-imports': ['error', { patterns: shut.map(([name, d]) => ({ regex: d.pattern, allowTypeImports: true, message: message(name) })) }],
    'no-restricted-syntax': [
      'error',
      ...shut.flatMap(([name, d]) => [
        { selector: `CallExpression[callee.name='require'] > Literal[value=/${d.pattern.replaceAll('/', '\\/')}/]`, message: message(name) },
        { selector: `CallExpression[callee.name='require'] > TemplateLiteral > TemplateElement[value.raw=/${d.pattern.replaceAll('/', '\\/')}/]`, message: message(name) },
        { selector: `ImportExpression > Literal[value=/${d.pattern.replaceAll('/', '\\/')}/]`, message: message(name) },
      ]),
    ],
  };
}

export default defineConfig(
  { ignores: ['dist*/**', 'build*/**', 'node_modules/**', 'coverage/**'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.strictTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Numbers and booleans in messages are fine; objects and secrets are not (restrict-template-expressions stays on for those).
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // tsconfig has noUncheckedIndexedAccess: an index read is `T | undefined`, and the code
      // writes `x[i]!` where the bound was checked the line before. The compiler's check is the
      // one that matters; this rule would only turn each of those into a noisier guard.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // An async method without await is how a synchronous step implements an async interface
      // (the passphrase tiers' probe/fetch): `async` turns a throw into a rejection, which the
      // chain relies on; `return Promise.resolve(…)` would lose that.
      '@typescript-eslint/require-await': 'off',
    },
  },
  // Doors: everything under src/ and test/ is closed, each door file opens its own module.
  { files: ['src/**/*.ts', 'test/**/*.ts'], rules: doorRules(undefined) },
  ...Object.entries(DOORS).map(([name, d]) => ({ files: [d.file], rules: doorRules(name) })),
  // The core is a library: no console and no process.exit (the CLI owns output and exit codes).
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-console': 'error',
      'no-restricted-properties': ['error', { object: 'process', property: 'exit', message: 'the core never exits: throw a SesameError; the CLI maps it to an exit code' }],
    },
  },
  // node:test's test()/describe() return promises the runner itself awaits.
  // Tests read JSON from the agent and the CLI and assert on its shape: `any` from JSON.parse
  // is the point there, not a hole (src/ keeps every no-unsafe-* rule).
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Tests check at run time what the types promise (a decision table, a parsed reply).
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
    },
  },
  // Plain JavaScript (this file, scripts/): no type information.
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], extends: [js.configs.recommended], languageOptions: { globals: globals.node } },
);
