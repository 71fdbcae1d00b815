// The suite's final secret scan (test/helpers/secret-scan.ts) can fail: it finds a planted
// secret, encoded or not, in a kept or a live home, and refuses a registry with nothing in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { scanRegistry } from '../helpers/secret-scan.js';

function registry(t: { after(fn: () => void): void }): string {
  const reg = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-scan-unit-'));
  t.after(() => {
    fs.rmSync(reg, { recursive: true, force: true });
  });
  return reg;
}

function plant(reg: string, secret: string, audit: string, kept: boolean): void {
  const home = path.join(reg, 'live-home');
  fs.mkdirSync(path.join(reg, 'homes'), { recursive: true });
  fs.writeFileSync(path.join(reg, 'homes', '1-1.json'), JSON.stringify({ dir: home }));
  fs.mkdirSync(path.join(reg, 'secrets'), { recursive: true });
  fs.writeFileSync(path.join(reg, 'secrets', '1.jsonl'), `${Buffer.from(secret).toString('base64')}\n`);
  const dir = kept ? path.join(reg, 'kept', '1-1') : home;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'audit.jsonl'), audit);
}

const REC = '{"v":1,"seq":1,"prev":"' + '0'.repeat(64) + '","time":"2026-01-01T00:00:00.000Z","event":"list","outcome":"ok","via":"cli","mac":null}\n';
const SECRET = 'planted-secret-value-91c3';

test('the final scan finds a secret planted in an audit record, raw, base64 or hex, in a live or a kept home', (t) => {
  for (const [form, kept] of [
    [SECRET, false],
    [Buffer.from(SECRET).toString('base64'), true],
    [Buffer.from(SECRET).toString('hex'), true],
  ] as const) {
    const reg = registry(t);
    plant(reg, SECRET, REC + REC.replace('"list"', '"get"').replace('"via":"cli"', `"via":"cli","request":"${form}"`), kept);
    const r = scanRegistry(reg);
    assert.equal(r.leaks.length, 1, `${form}: ${JSON.stringify(r)}`);
    assert.equal(r.auditFiles, 1);
  }
  const clean = registry(t);
  plant(clean, SECRET, REC, true);
  const r = scanRegistry(clean);
  assert.deepEqual([r.leaks, r.records], [[], 1]);
});

test('the final scan refuses a registry without homes or without secrets', (t) => {
  const reg = registry(t);
  assert.throws(() => scanRegistry(reg), /holds no test homes/);
  fs.mkdirSync(path.join(reg, 'homes'));
  fs.writeFileSync(path.join(reg, 'homes', '1-1.json'), JSON.stringify({ dir: path.join(reg, 'nowhere') }));
  assert.throws(() => scanRegistry(reg), /holds no secrets/);
});
