/**
 * `get --json`: each value as base64 plus its public metadata. The value is encoded from
 * its Buffer straight into an off-heap output buffer (agent/b64.ts), so it never becomes a
 * JavaScript string; the JSON around it holds only names and metadata.
 */
import { allocSecret } from '../core/bytes.js';
import { b64EncodeInto, b64Length } from '../core/agent/b64.js';
import type { HomePaths } from '../core/paths.js';
import { entryMeta } from './key-names.js';
import { out } from './output.js';

const HOLE = '\u0001value\u0001';

/**
 * Prints `{project, key, value_base64, created_at, updated_at, version, high_value}` for one
 * key, or `{project, secrets: [ {key, value_base64, …} ]}` for several; fields the vault file
 * cannot tell here are null. Wipes the output once written (the caller wipes `values`).
 */
export async function getJson(paths: HomePaths, project: string, keys: readonly string[], values: readonly Buffer[]): Promise<void> {
  const items = [];
  for (const key of keys) items.push({ key, value_base64: HOLE, ...(await entryMeta(paths, project, key)) });
  const doc = items.length === 1 ? { project, ...items[0]! } : { project, secrets: items };
  const parts = JSON.stringify(doc, null, 2).split(JSON.stringify(HOLE));
  const head = parts.map((p) => Buffer.from(p, 'utf8'));
  let total = 1;
  for (const h of head) total += h.length;
  for (const v of values) total += b64Length(v.length) + 2;
  const buf = allocSecret(total);
  let o = 0;
  head.forEach((h, i) => {
    o += h.copy(buf, o);
    if (i < values.length) {
      buf[o++] = 0x22;
      o = b64EncodeInto(values[i]!, buf, o);
      buf[o++] = 0x22;
    }
  });
  buf[o++] = 0x0a;
  out(buf.subarray(0, o));
  buf.fill(0);
}
