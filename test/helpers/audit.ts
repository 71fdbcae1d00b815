import assert from 'node:assert/strict';
import { sesame, type TestHome } from './cli.js';

/**
 * The home's audit records as `sesame audit show --json [filters…]` gives them, after checking
 * the command succeeded. `T` is the caller's view of a record (the fields its test reads).
 */
export async function auditRecords<T>(h: Pick<TestHome, 'env'>, filters: string[] = []): Promise<T[]> {
  const r = await sesame(['audit', 'show', '--json', ...filters], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.out) as T[];
}
