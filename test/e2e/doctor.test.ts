/**
 * `sesame doctor` through the built CLI: a healthy home passes; each problem is reported
 * with its exact remedy (a loosened mode, an unusable unlock tier, a dead agent socket);
 * it reads no secret (no passphrase source is needed, nothing is decrypted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, sesame, setSecret } from '../helpers/cli.js';
import { startAgent, stopAgent } from '../helpers/agent.js';

interface Check {
  check: string;
  status: string;
  message: string;
  remedy: string | null;
}

async function doctor(env: NodeJS.ProcessEnv): Promise<{ code: number | null; ok: boolean; checks: Check[]; text: string }> {
  const j = await sesame(['doctor', '--json'], { env });
  const t = await sesame(['doctor'], { env });
  const doc = JSON.parse(j.out) as { ok: boolean; checks: Check[] };
  assert.equal(t.code, j.code, 'the same verdict with and without --json');
  return { code: j.code, ok: doc.ok, checks: doc.checks, text: t.out };
}

test('doctor passes a healthy home, with an agent running, without any passphrase source', async () => {
  const h = await initHome();
  try {
    await setSecret(h, 'K', 'the-secret-value');
    await startAgent(h);
    const env = { ...h.env };
    delete env.SESAME_PASSPHRASE_FILE; // it needs no secret: nothing to unlock with
    const r = await doctor(env);
    assert.equal(r.code, 0, r.text);
    assert.equal(r.ok, true);
    assert.deepEqual(
      r.checks.filter((c) => c.status === 'fail'),
      [],
    );
    const names = r.checks.map((c) => c.check);
    for (const want of ['home', 'files', 'vault', 'agent', 'agent.hardening', 'agent.session', 'agent.listeners', 'memfd_secret', 'audit', 'project', 'hooks.shells', 'hooks.direnv'])
      assert.ok(names.includes(want), `checks ${want}`);
    assert.ok(
      names.some((n) => n.startsWith('unlock.')),
      'lists the unlock tiers',
    );
    assert.ok(r.checks.find((c) => c.check === 'agent')!.status === 'ok');
    assert.ok(!r.text.includes('the-secret-value'));
    for (const c of r.checks) if (c.status === 'fail' || c.status === 'warn') assert.ok(c.remedy, `${c.check} has a remedy`);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});

test('doctor reports a loosened mode with the exact chmod, and exits 1', async () => {
  const h = await initHome();
  try {
    const vault = path.join(h.dir, 'vault.json');
    fs.chmodSync(vault, 0o644);
    const r = await doctor(h.env);
    assert.equal(r.code, 1, r.text);
    const c = r.checks.find((x) => x.check === 'files' && x.message.includes(vault));
    assert.ok(c, r.text);
    assert.equal(c.status, 'fail');
    assert.equal(c.remedy, `chmod 600 '${vault}'`);
    assert.match(r.text, new RegExp(`FAIL .*mode 644[\\s\\S]*fix: chmod 600 '${vault}'`));
    // The remedy is right: applying it makes doctor pass.
    fs.chmodSync(vault, 0o600);
    assert.equal((await doctor(h.env)).code, 0);
  } finally {
    h.cleanup();
  }
});

test('doctor reports an unusable unlock tier with what to do', async () => {
  const h = await initHome();
  try {
    const env = { ...h.env, SESAME_PASSPHRASE_FILE: path.join(h.dir, 'no-such-passphrase-file') };
    const r = await doctor(env);
    assert.equal(r.code, 1, r.text);
    const c = r.checks.find((x) => x.check === 'unlock.file')!;
    assert.equal(c.status, 'fail');
    assert.match(c.message, /does not exist/);
    assert.match(c.remedy!, /SESAME_PASSPHRASE_FILE/);
  } finally {
    h.cleanup();
  }
});

test('doctor reports a dead agent socket with the command that clears it', async () => {
  const h = await initHome();
  try {
    const sock = path.join(h.dir, 'agent.sock');
    const py = spawnSync('python3', ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])', sock]);
    assert.equal(py.status, 0, String(py.stderr));
    fs.chmodSync(sock, 0o600);
    const r = await doctor(h.env);
    const c = r.checks.find((x) => x.check === 'agent')!;
    assert.equal(c.status, 'warn', r.text);
    assert.match(c.message, /dead socket/);
    assert.equal(c.remedy, `\`sesame agent start\` replaces it; or remove it: rm '${sock}'`);
    fs.rmSync(sock);
    assert.equal((await doctor(h.env)).checks.find((x) => x.check === 'agent')!.status, 'info');
  } finally {
    h.cleanup();
  }
});

test('doctor reports a project chosen by .sesame.toml that the vault does not have', async () => {
  const h = await initHome();
  try {
    const r = await doctor({ ...h.env, SESAME_PROJECT: 'nosuch' });
    const c = r.checks.find((x) => x.check === 'project')!;
    assert.equal(c.status, 'fail');
    assert.equal(c.remedy, 'sesame projects create nosuch');
    assert.equal(r.code, 1);
  } finally {
    h.cleanup();
  }
});
