/**
 * Unit-test homes for the passphrase chain: a real vault (cheapest Argon2id) in a private
 * temporary home, and a ChainContext over it that records warnings instead of printing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { homePaths, type HomePaths } from '../../src/core/paths.js';
import { createVault } from '../../src/core/vault/store.js';
import type { ChainContext } from '../../src/core/passphrase/chain.js';
import { DEFAULT_ORDER } from '../../src/core/passphrase/order.js';
import { PASSPHRASE } from './cli.js';
import { keepHome, registerHome } from './suite-registry.js';

export interface ChainHome {
  base: string;
  paths: HomePaths;
  ctx: ChainContext;
  warnings: string[];
  cleanup(): void;
}

export const CHEAP_KDF = { opslimit: 1, memlimit: 8 * 1024 * 1024 };

/** A home with a vault whose passphrase is PASSPHRASE; `env` is the chain's environment. */
export function chainHome(env: NodeJS.ProcessEnv = {}, opts: { vault?: boolean } = {}): ChainHome {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-chain-'));
  fs.chmodSync(base, 0o700);
  const paths = homePaths(path.join(base, 'home'));
  if (opts.vault !== false) createVault(paths, Buffer.from(PASSPHRASE), CHEAP_KDF, {}).dispose();
  else fs.mkdirSync(paths.home, { mode: 0o700 });
  const id = registerHome(paths.home); // for the suite's final scan (suite-registry.ts)
  const warnings: string[] = [];
  const ctx: ChainContext = { paths, env: { PATH: process.env.PATH, ...env }, warn: (m) => warnings.push(m), order: DEFAULT_ORDER };
  return {
    base,
    paths,
    ctx,
    warnings,
    cleanup: () => {
      keepHome(id, paths.home);
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Writes an executable script into the home's base dir; returns its path. */
export function script(h: ChainHome, name: string, body: string): string {
  const p = path.join(h.base, name);
  fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o700 });
  return p;
}

/** Writes config.toml (0600). */
export function writeConfig(h: ChainHome, text: string): void {
  fs.writeFileSync(h.paths.config, text, { mode: 0o600 });
}
