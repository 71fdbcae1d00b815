/**
 * The passphrase chain: the ordered sources that can unlock the vault, the first one that
 * answers wins (docs/spec/passphrase-chain.md).
 *
 * A tier's `fetch` returns:
 *   - a Buffer: the passphrase (the caller wipes it),
 *   - null: absent, fall through to the next tier,
 *   - or throws: configured but failing; the chain FAILS CLOSED and never falls through
 *     to a weaker tier (e.g. a passphrase_command that errors).
 * `probe` reports present/absent/unusable without reading any secret.
 *
 * The prompt is injected by the CLI: the core never touches a terminal. So is the order:
 * the chain keeps no registry of tiers; the caller passes the steps in `ChainContext.order`
 * (the default order is order.ts's DEFAULT_ORDER). This module imports no tier.
 */
import { SesameError } from '../errors.js';
import type { HomePaths } from '../paths.js';

export type TierName = 'agent' | 'env' | 'file' | 'session' | 'sealed' | 'keyring' | 'command' | 'prompt';

export interface TierStatus {
  tier: TierName;
  state: 'present' | 'absent' | 'unusable';
  detail?: string;
}

export interface ChainContext {
  paths: HomePaths;
  env: NodeJS.ProcessEnv;
  /** A one-line warning for stderr (never contains a secret). */
  warn(msg: string): void;
  /** A no-echo prompt on the terminal; undefined when there is no terminal. */
  prompt?: ((label: string) => Promise<Buffer>) | undefined;
  /** The tiers to ask, in order (order.ts's DEFAULT_ORDER for the CLI). */
  order: readonly ChainStep[];
}

export interface Tier {
  name: TierName;
  probe(ctx: ChainContext): Promise<TierStatus>;
  fetch(ctx: ChainContext): Promise<Buffer | null>;
}

/** The last tier: asks the terminal (ctx.prompt) when there is one, else absent. Never reads a file or the environment. */
export const promptTier: Tier = {
  name: 'prompt',
  async probe(ctx) {
    return ctx.prompt ? { tier: 'prompt', state: 'present', detail: 'a terminal is available' } : { tier: 'prompt', state: 'absent', detail: 'no terminal' };
  },
  async fetch(ctx) {
    if (!ctx.prompt) return null;
    return ctx.prompt('Passphrase for the sesame vault: ');
  },
};

/**
 * One step of a chain: a tier, or a group of tiers loaded on first use (so that modules
 * which start child processes or load native code are not loaded while an earlier tier
 * answers).
 */
export type ChainStep = Tier | (() => Promise<readonly Tier[]>);

/** Every tier of `order`, loading the lazy groups. */
export async function loadChain(order: readonly ChainStep[]): Promise<Tier[]> {
  const out: Tier[] = [];
  for (const s of order) out.push(...(typeof s === 'function' ? await s() : [s]));
  return out;
}

async function firstAnswer(ctx: ChainContext, steps: readonly ChainStep[]): Promise<{ passphrase: Buffer; tier: TierName } | null> {
  for (const s of steps) {
    for (const t of typeof s === 'function' ? await s() : [s]) {
      const p = await t.fetch(ctx);
      if (p) return { passphrase: p, tier: t.name };
    }
  }
  return null;
}

/**
 * Finds the passphrase through `tiers` (default: `ctx.order`), the first tier that answers
 * wins; a tier that throws ends the search (fails closed). LOCKED when no tier answers.
 * A lazy step is loaded only when every step before it was absent: with the default order
 * the environment tiers are asked before the machine tiers' modules (child processes,
 * keyring, kernel keyring) load, so the common unattended case stays fast.
 */
export async function resolvePassphrase(ctx: ChainContext, tiers?: readonly ChainStep[]): Promise<{ passphrase: Buffer; tier: TierName }> {
  const found = await firstAnswer(ctx, tiers ?? ctx.order);
  if (found) return found;
  throw new SesameError('LOCKED', 'the vault is locked and there is no terminal to ask for the passphrase', { remedy: 'unlock_from_terminal' });
}

/** How a tier is named to a user (messages name the source, never its content). */
export const TIER_LABELS: Readonly<Record<TierName, string>> = {
  agent: 'the running agent',
  env: 'SESAME_PASSPHRASE',
  file: 'SESAME_PASSPHRASE_FILE',
  session: 'the session tier (this login session)',
  sealed: 'the sealed credential (systemd-creds)',
  keyring: 'the OS keyring',
  command: 'passphrase_command',
  prompt: 'the prompt',
};

/** CLI-free hints; the session, sealed and keyring tiers' fixes are sesame commands (remedy `wrong_passphrase`). */
const WRONG_HINTS: Readonly<Partial<Record<TierName, string>>> = {
  env: 'fix or unset SESAME_PASSPHRASE',
  file: 'fix the file SESAME_PASSPHRASE_FILE names, or unset it',
  command: 'make passphrase_command print the current passphrase',
  prompt: 'type it again',
};

const COMMAND_FIXED: ReadonlySet<TierName> = new Set(['session', 'sealed', 'keyring']);

/**
 * Names the tier in a WRONG_PASSPHRASE error, so a user always knows which source answered
 * with a stale or mistyped passphrase. Other errors are returned unchanged.
 */
export function attributeWrongPassphrase(e: unknown, tier: TierName): unknown {
  if (!(e instanceof SesameError) || e.code !== 'WRONG_PASSPHRASE') return e;
  return new SesameError('WRONG_PASSPHRASE', `wrong passphrase from ${TIER_LABELS[tier]}: it does not open this vault`, {
    ...(WRONG_HINTS[tier] !== undefined ? { hint: WRONG_HINTS[tier] } : COMMAND_FIXED.has(tier) ? { remedy: 'wrong_passphrase' as const } : { hint: e.hint }),
    detail: { tier },
  });
}

/** The state of every tier of `tiers` (default: `ctx.order`); reads no secret. */
export async function probeChain(ctx: ChainContext, tiers?: readonly ChainStep[]): Promise<TierStatus[]> {
  const out: TierStatus[] = [];
  for (const t of await loadChain(tiers ?? ctx.order)) {
    try {
      out.push(await t.probe(ctx));
    } catch (e) {
      out.push({ tier: t.name, state: 'unusable', detail: e instanceof SesameError ? e.message : 'probe failed' });
    }
  }
  return out;
}
