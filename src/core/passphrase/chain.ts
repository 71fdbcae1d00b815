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
 * The prompt is injected by the CLI: the core never touches a terminal.
 */
import { SesameError } from '../errors.js';
import type { HomePaths } from '../home.js';
import { envTier, fileTier } from './sources.js';

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
}

export interface Tier {
  name: TierName;
  probe(ctx: ChainContext): Promise<TierStatus>;
  fetch(ctx: ChainContext): Promise<Buffer | null>;
}

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

/** Extra tiers registered between the file tier and the prompt (session, sealed, keyring, command). */
const extraTiers: Tier[] = [];
export function registerTiers(tiers: Tier[]): void {
  for (const t of tiers) if (!extraTiers.some((x) => x.name === t.name)) extraTiers.push(t);
}

/** The chain as registered so far (the machine tiers once their module was loaded). */
export function chainTiers(): Tier[] {
  return [envTier, fileTier, ...extraTiers, promptTier];
}

/** The whole chain in order, loading the machine tiers' module (tiers.ts) on first use. */
export async function loadChain(): Promise<Tier[]> {
  await import('./tiers.js');
  return chainTiers();
}

async function firstAnswer(ctx: ChainContext, tiers: Tier[]): Promise<{ passphrase: Buffer; tier: TierName } | null> {
  for (const t of tiers) {
    const p = await t.fetch(ctx);
    if (p) return { passphrase: p, tier: t.name };
  }
  return null;
}

export const LOCKED_HINT =
  'start the agent from a terminal (`sesame agent start`), run `sesame unlock` in a terminal, or set SESAME_PASSPHRASE_FILE to a 0600 file';

/**
 * Finds the passphrase through `tiers` (default: the whole chain). LOCKED when no tier
 * answers and there is no terminal. With the default chain the environment tiers are
 * asked first, and the machine tiers' modules (child processes, keyring, kernel keyring)
 * are loaded only when neither answers: the common unattended case stays fast.
 */
export async function resolvePassphrase(ctx: ChainContext, tiers?: Tier[]): Promise<{ passphrase: Buffer; tier: TierName }> {
  const found = tiers ? await firstAnswer(ctx, tiers) : ((await firstAnswer(ctx, [envTier, fileTier])) ?? (await firstAnswer(ctx, (await loadChain()).filter((t) => t !== envTier && t !== fileTier))));
  if (found) return found;
  throw new SesameError('LOCKED', 'the vault is locked and there is no terminal to ask for the passphrase', { hint: LOCKED_HINT });
}

/** How a tier is named to a user (messages name the source, never its content). */
export const TIER_LABELS: Readonly<Record<TierName, string>> = {
  agent: 'the running agent',
  env: 'SESAME_PASSPHRASE',
  file: 'SESAME_PASSPHRASE_FILE',
  session: 'the session tier (`sesame unlock`)',
  sealed: 'the sealed credential (systemd-creds)',
  keyring: 'the OS keyring',
  command: 'passphrase_command',
  prompt: 'the prompt',
};

const WRONG_HINTS: Readonly<Partial<Record<TierName, string>>> = {
  env: 'fix or unset SESAME_PASSPHRASE',
  file: 'fix the file SESAME_PASSPHRASE_FILE names, or unset it',
  session: 'run `sesame lock`, then `sesame unlock` with the right passphrase',
  sealed: 'seal the right passphrase again (`sesame passphrase seal`) or remove it (`sesame passphrase destroy`)',
  keyring: 'store the right passphrase (`sesame passphrase to-keyring`) or remove it (`sesame passphrase destroy`)',
  command: 'make passphrase_command print the current passphrase',
  prompt: 'type it again',
};

/**
 * Names the tier in a WRONG_PASSPHRASE error, so a user always knows which source answered
 * with a stale or mistyped passphrase. Other errors are returned unchanged.
 */
export function attributeWrongPassphrase(e: unknown, tier: TierName): unknown {
  if (!(e instanceof SesameError) || e.code !== 'WRONG_PASSPHRASE') return e;
  return new SesameError('WRONG_PASSPHRASE', `wrong passphrase from ${TIER_LABELS[tier]}: it does not open this vault`, {
    hint: WRONG_HINTS[tier] ?? e.hint,
    detail: { tier },
  });
}

export async function probeChain(ctx: ChainContext, tiers?: Tier[]): Promise<TierStatus[]> {
  tiers ??= await loadChain();
  const out: TierStatus[] = [];
  for (const t of tiers) {
    try {
      out.push(await t.probe(ctx));
    } catch (e) {
      out.push({ tier: t.name, state: 'unusable', detail: e instanceof SesameError ? e.message : 'probe failed' });
    }
  }
  return out;
}
