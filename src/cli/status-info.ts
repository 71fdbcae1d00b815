/** What `status` and `whoami` report; reads metadata only, never a secret. */
import type { Ctx } from './context.js';
import type { TierStatus } from '../core/passphrase/chain.js';
import { SesameError } from '../core/errors.js';

export interface StatusInfo {
  schema: 1;
  version: string;
  home: string;
  /** Fields the vault file cannot tell (none there, unreadable) are null, never missing. */
  vault: { path: string; exists: boolean; id: string | null; format_version: number | null; projects: number | null; keys: number | null; error: string | null };
  project: { name: string; source: string; file: string | null; only: string[] | null; prefix: string | null };
  agent: Record<string, unknown> & { running: boolean };
  unlock: Array<Omit<TierStatus, 'detail'> & { detail: string | null }>;
}

export async function collectStatus(ctx: Ctx): Promise<StatusInfo> {
  const { readVault } = await import('../core/vault/store.js');
  const { VERSION } = await import('./version.js');
  const project = ctx.project();
  const vault: StatusInfo['vault'] = { path: ctx.paths.vault, exists: false, id: null, format_version: null, projects: null, keys: null, error: null };
  try {
    const doc = readVault(ctx.paths);
    vault.exists = true;
    vault.id = doc.vault_id;
    vault.format_version = doc.version;
    vault.projects = Object.keys(doc.projects).length;
    const p = Object.hasOwn(doc.projects, project.name) ? doc.projects[project.name] : undefined;
    vault.keys = p ? Object.keys(p.entries).length : 0;
  } catch (e) {
    if (!(e instanceof SesameError && e.code === 'NOT_INITIALIZED')) {
      vault.exists = true;
      vault.error = e instanceof SesameError ? e.message : String(e);
    }
  }
  const { agentStatusBlock } = await import('./agent-status.js');
  const agent = await agentStatusBlock(ctx);
  const { probeChain } = await import('../core/passphrase/chain.js');
  const chain = await ctx.chain();
  const probed = await probeChain(chain);
  probed.unshift({ tier: 'agent', state: agent.running && agent.accessible ? 'present' : 'absent' });
  const unlock = probed.map((t) => ({ ...t, detail: t.detail ?? null }));
  const where = { ...project, file: project.file ?? null, only: project.only ?? null, prefix: project.prefix ?? null };
  return { schema: 1, version: VERSION, home: ctx.paths.home, vault, project: where, agent, unlock };
}
