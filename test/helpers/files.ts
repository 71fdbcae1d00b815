/** File-tree helpers for tests that scan everything a run wrote (for a leaked secret). */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Every regular file under `dir` (not following links); [] when `dir` cannot be read. */
export function filesUnder(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return filesUnder(p);
    return d.isFile() ? [p] : [];
  });
}
