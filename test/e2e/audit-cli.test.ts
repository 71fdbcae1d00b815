import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, sesame, setSecret, PASSPHRASE } from '../helpers/cli.js';
import { auditRecords } from '../helpers/audit.js';

interface Rec {
  seq: number;
  event: string;
  outcome: string;
  reason?: string;
  via: string;
  keys?: string[];
  mac: string | null;
}

test('set, rm, import and a failed unlock are recorded with names and never values; verify passes, and a hand edit fails naming the record', async () => {
  const h = await initHome('sesame-audit-cli-');
  try {
    const values = ['v4lue-of-alpha-9f3c', 'b3ta secret with spaces', 'gamma=from-dotenv-77', 'delta-dotenv-Zq'];
    await setSecret(h, 'ALPHA', values[0]!);
    await setSecret(h, 'BETA', values[1]!);
    assert.equal((await sesame(['rm', 'BETA'], { env: h.env })).code, 0);
    const envFile = path.join(path.dirname(h.dir), 'in.env');
    fs.writeFileSync(envFile, `GAMMA=${values[2]!}\nDELTA=${values[3]!}\n`, { mode: 0o600 });
    const imp = await sesame(['import', envFile], { env: h.env });
    assert.equal(imp.code, 0, imp.stderr);
    const wrongPass = path.join(path.dirname(h.dir), 'wrong');
    fs.writeFileSync(wrongPass, 'not-the-passphrase-xyz\n', { mode: 0o600 });
    const bad = await sesame(['set', 'EPSILON'], { env: { ...h.env, SESAME_PASSPHRASE_FILE: wrongPass }, input: 'eps-value-never-stored' });
    assert.notEqual(bad.code, 0);

    // The file: 0600, and no value, no passphrase anywhere in it.
    const logFile = path.join(h.dir, 'audit.jsonl');
    assert.equal(fs.statSync(logFile).mode & 0o777, 0o600);
    const raw = fs.readFileSync(logFile, 'utf8');
    for (const secret of [...values, 'eps-value-never-stored', PASSPHRASE, 'not-the-passphrase-xyz']) assert.ok(!raw.includes(secret), `the log holds ${JSON.stringify(secret)}`);

    const recs = await auditRecords<Rec>(h);
    assert.deepEqual(
      recs.map((r) => [r.event, r.outcome, r.keys ?? []]),
      [
        ['init', 'ok', []],
        ['set', 'ok', ['ALPHA']],
        ['set', 'ok', ['BETA']],
        ['rm', 'ok', ['BETA']],
        ['import', 'ok', ['GAMMA', 'DELTA']],
        ['unlock', 'denied', []],
      ],
    );
    assert.ok(recs.every((r) => r.via === 'cli'));
    assert.deepEqual(
      recs.map((r) => r.mac !== null),
      [false, true, true, true, true, false],
    );
    const onlyBeta = await auditRecords<Rec>(h, ['--key', 'BETA']);
    assert.deepEqual(
      onlyBeta.map((r) => r.event),
      ['set', 'rm'],
    );
    const text = await sesame(['audit', 'show', '--event', 'import'], { env: h.env });
    assert.match(text.out, /import {2}ok {2}cli {2}project=default {2}keys=GAMMA,DELTA/);

    const ok = await sesame(['audit', 'verify'], { env: h.env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /intact: 6 records in 1 file, 4 MACs verified/);
    const head = (await sesame(['audit', 'head'], { env: h.env })).out.trim();
    assert.match(head, /^6:[0-9a-f]{64}$/);
    assert.equal((await sesame(['audit', 'verify', '--expect-head', head], { env: h.env })).code, 0);

    // A hand edit: the set of ALPHA now claims another key name.
    const lines = raw.split('\n');
    lines[1] = lines[1]!.replace('"ALPHA"', '"OMEGA"');
    fs.writeFileSync(logFile, lines.join('\n'));
    const edited = await sesame(['audit', 'verify'], { env: h.env });
    assert.equal(edited.code, 1);
    assert.match(edited.stderr, /NOT intact: .*audit\.jsonl line 2 \(seq 2\): bad_mac/);

    // A cut-off tail: only the anchored head shows it.
    fs.writeFileSync(logFile, raw.split('\n').slice(0, 4).join('\n') + '\n');
    assert.equal((await sesame(['audit', 'verify'], { env: h.env })).code, 0);
    const cut = await sesame(['audit', 'verify', '--expect-head', head, '--json'], { env: h.env });
    assert.equal(cut.code, 1);
    assert.equal((JSON.parse(cut.out) as { bad: { kind: string } }).bad.kind, 'truncated');
  } finally {
    h.cleanup();
  }
});

test('lock, passphrase acknowledge and init --force are recorded, and records under the replaced vault key still verify', async () => {
  const h = await initHome('sesame-audit-cli-');
  try {
    await setSecret(h, 'ALPHA', 'first-vault-value-1');
    assert.equal((await sesame(['passphrase', 'acknowledge'], { env: h.env })).code, 0);
    assert.equal((await sesame(['lock'], { env: h.env })).code, 0);
    const re = await sesame(['init', '--force', '--yes', '--kdf-memory', '8', '--kdf-passes', '1'], { env: h.env });
    assert.equal(re.code, 0, re.stderr);
    await setSecret(h, 'BETA', 'second-vault-value-2');
    const recs = await auditRecords<Rec>(h);
    assert.deepEqual(
      recs.map((r) => [r.event, r.reason ?? null, r.mac !== null]),
      [
        ['init', null, false],
        ['set', 'added', true],
        ['passphrase', 'acknowledge', false],
        ['lock', 'no_agent', false],
        ['init', 'replaced', false],
        ['set', 'added', true],
      ],
    );
    const v = await sesame(['audit', 'verify', '--json'], { env: h.env });
    assert.equal(v.code, 0, v.out);
    const r = JSON.parse(v.out) as { ok: boolean; mac_checked: number; earlier_key: number };
    assert.deepEqual([r.ok, r.mac_checked, r.earlier_key], [true, 1, 1]);
  } finally {
    h.cleanup();
  }
});
