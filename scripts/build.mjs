// Bundles the CLI with esbuild: one small entry chunk; every command and the native-backed
// modules split out and loaded on demand (startup is a feature).
// SESAME_DIST=DIR builds into DIR instead of dist/ (parallel work trees, benchmarks).
import { build } from 'esbuild';
import { rmSync, writeFileSync, chmodSync, readFileSync, copyFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const outdir = resolve(process.env.SESAME_DIST ?? 'dist');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { cli: 'src/cli/entry.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  external: ['sodium-native', 'koffi', '@napi-rs/keyring'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
});
// The executable: a small CommonJS entry (faster to start than an ES module graph) with the
// agent fast paths for `get` and `run`; everything else loads cli.mjs on demand.
await build({
  entryPoints: ['src/cli/bin.ts'],
  outfile: join(outdir, 'sesame.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['sodium-native', 'koffi', '@napi-rs/keyring', './cli.mjs'],
  define: { 'import.meta.url': '__sesame_import_meta_url' },
  banner: { js: "#!/usr/bin/env node\nconst __sesame_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
  legalComments: 'none',
});
// esbuild wraps `import * as fs from 'node:fs'` in __toESM(), which copies every property
// of the builtin at startup (~2 ms for the handful this entry loads). Our sources use only
// named members of builtins (never a default import), so the plain module object serves.
const cjs = join(outdir, 'sesame.cjs');
writeFileSync(cjs, readFileSync(cjs, 'utf8').replace(/__toESM\((require\("node:[a-z_]+"\)), 1\)/g, '$1'));
chmodSync(cjs, 0o755);
// The detached agent's own entry (src/daemon/main.ts), spawned by `agent start --background`:
// one CommonJS file, so its first import (SIGUSR1 ignored) runs before any other module's
// code; no code splitting, no chunk whose evaluation order could put something ahead of it.
await build({
  entryPoints: ['src/daemon/main.ts'],
  outfile: join(outdir, 'sesame-agent.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['sodium-native', 'koffi', '@napi-rs/keyring'],
  define: { 'import.meta.url': '__sesame_import_meta_url' },
  banner: { js: "const __sesame_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
  legalComments: 'none',
});
// An ES-module entry too, for embedding (`import { run } from 'sesame/dist/cli.mjs'`).
const entry = join(outdir, 'sesame.mjs');
writeFileSync(entry, "#!/usr/bin/env node\nimport { run } from './cli.mjs';\nrun();\n");
chmodSync(entry, 0o755);
// The Node API (src/api/, docs/api.md): one ES module, `import { connect } from 'sesame'`.
// Not split: a program that imports it loads one file; koffi is still required only when
// getFd runs (native.ts loads it lazily), libsodium never.
await build({
  entryPoints: { api: 'src/api/index.ts' },
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  external: ['sodium-native', 'koffi', '@napi-rs/keyring'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
});
// Its declarations: written by hand (src/api/api.d.mts, self-contained); src/api/index.ts
// checks against them at type-check time, so they cannot drift from the code.
copyFileSync('src/api/api.d.mts', join(outdir, 'api.d.mts'));
