/**
 * The scan behind test/post/audit-secrets-scan.post.ts: every file of every home in a suite
 * registry (suite-registry.ts) searched for every registered secret (in audit files also
 * base64- and hex-encoded). Kept apart so a unit test can prove it finds a planted secret
 * and refuses an empty registry.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseLine } from '../../src/core/audit/record.js';

export interface ScanResult {
  homes: number;
  files: number;
  auditFiles: number;
  records: number;
  secrets: number;
  leaks: string[];
}

function filesUnder(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : e.isFile() ? [p] : [];
  });
}

const isAuditFile = (f: string): boolean => /^audit\.jsonl(\.\d{6})?$/.test(path.basename(f));

/** Scans the registry `reg`; throws when it holds no homes or no secrets (a scan of nothing proves nothing). */
export function scanRegistry(reg: string): ScanResult {
  const homesDir = path.join(reg, 'homes');
  const homes = fs.existsSync(homesDir) ? fs.readdirSync(homesDir) : [];
  if (!homes.length) throw new Error(`the registry ${reg} holds no test homes: the helpers registered nothing, so there is nothing to scan`);
  const uniq = new Map<string, Buffer>();
  for (const f of filesUnder(path.join(reg, 'secrets'))) for (const line of fs.readFileSync(f, 'utf8').split('\n')) if (line) uniq.set(line, Buffer.from(line, 'base64'));
  const secrets = [...uniq.values()];
  if (!secrets.length) throw new Error(`the registry ${reg} holds no secrets`);
  // Every home where it still is, and the copy kept when its test removed it.
  const roots = homes.flatMap((h) => {
    const { dir } = JSON.parse(fs.readFileSync(path.join(homesDir, h), 'utf8')) as { dir: string };
    return [dir, path.join(reg, 'kept', h.replace(/\.json$/, ''))];
  });
  const files = roots.flatMap(filesUnder);
  const res: ScanResult = { homes: homes.length, files: files.length, auditFiles: 0, records: 0, secrets: secrets.length, leaks: [] };
  for (const f of files) {
    let data: Buffer;
    try {
      data = fs.readFileSync(f);
    } catch {
      continue; // a file a test made unreadable on purpose
    }
    const audit = isAuditFile(f);
    for (const s of secrets) {
      const forms = audit ? [s, Buffer.from(s.toString('base64')), Buffer.from(s.toString('hex'))] : [s];
      if (forms.some((x) => data.includes(x))) res.leaks.push(`${f} holds a secret the suite used (${s.length} bytes, starting ${JSON.stringify(s.subarray(0, 3).toString('utf8'))}…)`);
    }
    if (audit) {
      res.auditFiles++;
      res.records += data
        .toString('latin1')
        .split('\n')
        .filter((l) => l !== '' && typeof parseLine(Buffer.from(l, 'latin1')) !== 'string').length;
    }
  }
  return res;
}
