/**
 * `$SESAME_HOME/cells.toml`: which cells may resolve what (issue 11; docs/approvals.md).
 *
 *   peer = "same-uid"            # who may connect to cells.sock: "same-uid", "any", or [uids]
 *   [[cell]]
 *   id = "build-*"               # a glob over cell ids (`*`, `?`); the first match wins
 *   projects = ["work"]
 *   keys = ["API_*"]
 *
 * No file, or no rule matching a cell id: that cell resolves nothing (its resolves are
 * denied `cell_unknown`). Strict like every policy file: an unknown field or a bad value
 * refuses the agent's start (or keeps the old policy on reload), naming the file and line.
 * The file must be ours and not writable by others (it widens access).
 */
import * as path from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { SesameError } from '../errors.js';
import { readPrivateFileStat } from '../fs/secure.js';
import { isValidProjectName } from '../names.js';
import { isValidKeyGlob, type CellPolicy, type CellRule, type PeerRule } from '../policy/authorize.js';

/** The file's name in the home. */
export const CELLS_TOML = 'cells.toml';
/** A cell id: 1–64 of [A-Za-z0-9_.-]. */
export const CELL_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const CELL_GLOB = /^[A-Za-z0-9_.*?-]{1,64}$/;
const MAX_UID = 0xfffffffe;

/** True for a valid cell id. */
export function isValidCellId(s: unknown): s is string {
  return typeof s === 'string' && CELL_ID.test(s);
}

/** Parses `cells.toml` text into the cell policy. INVALID (with `detail.file`, `detail.line`) on the first problem. */
export function parseCells(text: string, file: string): CellPolicy {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (e) {
    throw bad(file, e instanceof TomlError ? e.line : null, 'not valid TOML');
  }
  for (const k of Object.keys(doc)) if (k !== 'peer' && k !== 'cell') throw bad(file, lineOf(text, k), `unknown field ${JSON.stringify(k.slice(0, 32))} (known: peer, cell)`);
  const peer = peerOf(doc.peer, file, lineOf(text, 'peer'));
  const raw = doc.cell ?? [];
  if (!Array.isArray(raw)) throw bad(file, lineOf(text, 'cell'), 'cell must be an array of tables ([[cell]])');
  const rules: CellRule[] = [];
  for (const r of raw as unknown[]) {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw bad(file, null, 'each [[cell]] must be a table');
    const o = r as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!['id', 'projects', 'keys'].includes(k)) throw bad(file, lineOf(text, k), `[[cell]]: unknown field ${JSON.stringify(k.slice(0, 32))} (known: id, projects, keys)`);
    if (typeof o.id !== 'string' || !CELL_GLOB.test(o.id)) throw bad(file, lineOf(text, 'id'), '[[cell]] id must be a glob of 1–64 characters [A-Za-z0-9_.-*?]');
    const list = (k: 'projects' | 'keys', ok: (s: string) => boolean): string[] => {
      const v = o[k];
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && ok(x)))
        throw bad(file, lineOf(text, k), `[[cell]] ${k} must be a non-empty list of ${k === 'projects' ? 'project names' : 'key globs'}`);
      return [...(v as string[])];
    };
    rules.push(Object.freeze({ id: o.id, projects: Object.freeze(list('projects', isValidProjectName)), keys: Object.freeze(list('keys', isValidKeyGlob)) }));
  }
  return Object.freeze({ peer, projects: Object.freeze([]), keys: Object.freeze([]), rules: Object.freeze(rules) });
}

/**
 * The PolicyStore loader for a home's `cells.toml` (policy/store.ts `PolicyLoader`): the cell
 * policy, with no rules when the file does not exist.
 */
export function cellsLoader(home: string): { readonly name: 'cells'; readonly file: string; load(): { readonly cells: CellPolicy } } {
  const file = path.join(home, CELLS_TOML);
  return {
    name: 'cells',
    file,
    load: () => {
      const r = readPrivateFileStat(file, 'cells file', { forbid: 0o022, maxBytes: 256 * 1024 });
      if (!r) return { cells: Object.freeze({ peer: 'same-uid', projects: Object.freeze([]), keys: Object.freeze([]), rules: Object.freeze([]) }) };
      return { cells: parseCells(r.data.toString('utf8'), file) };
    },
  };
}

function peerOf(v: unknown, file: string, line: number | null): PeerRule {
  if (v === undefined || v === 'same-uid') return 'same-uid';
  if (v === 'any') return 'any';
  if (Array.isArray(v) && v.length > 0 && v.every((u) => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0 && u <= MAX_UID)) return Object.freeze([...(v as number[])]);
  throw bad(file, line, 'peer must be "same-uid", "any", or a non-empty list of uids');
}

function lineOf(text: string, key: string): number | null {
  const i = text.split('\n').findIndex((l) => new RegExp(`^\\s*${key}\\s*=|^\\s*\\[\\[?${key}\\]`).test(l));
  return i < 0 ? null : i + 1;
}

function bad(file: string, line: number | null, msg: string): SesameError {
  return new SesameError('INVALID', `${file}${line === null ? '' : `:${line}`}: ${msg}`, { hint: 'fix cells.toml (see docs/approvals.md)', detail: { file, line } });
}
