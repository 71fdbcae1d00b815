/**
 * `check`: the allow/deny decision of an `exec` (or a `get`) without running or decrypting
 * anything and without an audit record. Same decision as the op itself would make on the
 * same policy snapshot: the scope (the connection already applied authorize() for op
 * `check`; here authorize() is asked again for the op checked), a project or key out of view
 * (answered `allowed:false`, reason `not_found` — exactly as for a nonexistent name), the
 * command allowlist. `keys`: the names an exec would inject (exec only). Names only.
 */
import { authorize, authorizeKeys, type AuthRequest } from '../../policy/authorize.js';
import { EXEC_PATH, decideProgram } from '../exec/resolve.js';
import { profileOfCaller } from './exec.js';
import type { OpContext, Reply } from './context.js';

/** The `check` request's fields. */
export interface CheckArgs {
  what: 'exec' | 'get';
  project: string;
  argv?: string[];
  key?: string;
  only?: string[];
  prefix?: string;
}

/** Answers one `check` with an `ok` frame: allowed, reason, resolved, keys. */
export async function check(ctx: OpContext, req: CheckArgs): Promise<Reply> {
  const a = ctx.access;
  const answer = (allowed: boolean, reason: string | null, resolved: string | null, keys: string[] | null): Reply => ({
    line: ctx.framer.ok({ allowed, reason, resolved, ...(req.what === 'exec' ? { keys: keys ?? [] } : {}), path: req.what === 'exec' ? EXEC_PATH : undefined }),
    secret: false,
  });
  const ar: AuthRequest = { op: req.what, project: req.project, ...(req.key !== undefined ? { key: req.key } : {}), ...(a.tokenPresented ? { tokenPresented: true } : {}) };
  const d = authorize(a.caller, ar, a.policy);
  if (!d.allow) return answer(false, d.hidden ? 'not_found' : d.reason, null, null);
  const names = ctx.src.with((v) => {
    if (!v.hasProject(req.project)) return null;
    if (req.what === 'get') return v.select(req.project, { only: [req.key!] }).present;
    const inPrefix = (n: string): boolean => req.prefix === undefined || n.startsWith(req.prefix);
    const present = v.select(req.project, req.only ? { only: req.only.filter(inPrefix) } : req.prefix !== undefined ? { prefix: req.prefix } : {}).present;
    return present;
  });
  if (names === null) return answer(false, 'not_found', null, null);
  const visible = authorizeKeys(a.caller, req.project, names, a.policy).visible;
  if (req.what === 'get') return visible.length ? answer(true, null, null, null) : answer(false, 'not_found', null, null);
  const decided = decideProgram(req.argv![0]!, profileOfCaller(ctx));
  if ('error' in decided) return answer(false, decided.error, null, visible);
  return Promise.resolve(answer(true, null, decided.real, visible));
}
