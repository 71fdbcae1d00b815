/** The --only / --prefix / --strict options shared by env and run. */
import { SesameError } from '../core/errors.js';
import { type ResolvedProject } from '../core/paths.js';
import { checkKeyName } from '../core/names.js';
import type { FlagSpec, Parsed } from './args.js';
import type { Selection } from '../core/vault/vault.js';
import { warn } from './output.js';
import type { SecretReader } from './secret-reader.js';

export const SELECT_FLAGS: FlagSpec = {
  only: { type: 'string', arg: 'K1,K2', help: 'only these keys' },
  prefix: { type: 'string', arg: 'P', help: 'only keys whose names start with P' },
  strict: { type: 'boolean', help: 'fail (exit 4) if an --only key is missing, before anything runs' },
};

export function selection(flags: Parsed['flags']): Selection {
  const sel: Selection = {};
  if (typeof flags.only === 'string') sel.only = flags.only.split(',').map((s) => checkKeyName(s.trim()));
  if (typeof flags.prefix === 'string') sel.prefix = flags.prefix;
  return sel;
}

/**
 * `flags` with a `.sesame.toml`'s `only`/`prefix` filled in: only when that file chose the
 * project (not -p or SESAME_PROJECT) and the command line gives neither --only nor --prefix.
 */
export function withDirSelection(flags: Parsed['flags'], p: ResolvedProject): Parsed['flags'] {
  if (p.source !== 'directory' || flags.only !== undefined || flags.prefix !== undefined) return flags;
  return { ...flags, ...(p.only ? { only: p.only.join(',') } : {}), ...(p.prefix !== undefined ? { prefix: p.prefix } : {}) };
}

/** Reads the selection; enforces --strict; warns about missing keys otherwise. */
export async function readSelection(reader: SecretReader, project: string, flags: Parsed['flags']): Promise<Array<[string, Buffer]>> {
  const { secrets, missing } = await reader.getSelected(project, selection(flags));
  if (missing.length) {
    if (flags.strict) {
      for (const [, v] of secrets) v.fill(0);
      throw new SesameError('NOT_FOUND', `missing in project ${project}: ${missing.join(', ')}`, { detail: { missing, project }, hint: 'set them with `sesame set KEY`, or drop --strict' });
    }
    warn(`missing in project ${project}: ${missing.join(', ')}`);
  }
  return secrets;
}
