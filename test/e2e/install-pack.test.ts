import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BIN, PASSPHRASE, ROOT, runProcess } from '../helpers/cli.js';

/**
 * The README's install: `npm pack`, then `npm install -g` of the tarball. Here the tarball is
 * packed from a staging copy of what package.json "files" ships (the dist this suite built,
 * docs, README, CHANGELOG) so the test never rebuilds the shared dist/, and installed into a
 * throwaway prefix from npm's cache (--prefer-offline: after `npm ci` nothing is downloaded).
 */
test('a packed tarball installed globally into a throwaway prefix runs on its own: --version, help topics from the installed docs, and a get through an agent', { timeout: 600_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-install-'));
  try {
    const stage = path.join(tmp, 'stage');
    fs.mkdirSync(stage);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[]; version: string };
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(stage, 'package.json'));
    for (const f of pkg.files) {
      const src = f === 'dist' ? path.dirname(BIN) : path.join(ROOT, f);
      if (fs.existsSync(src)) fs.cpSync(src, path.join(stage, f), { recursive: true });
    }
    const npmEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
    const tgzName = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', tmp], { cwd: stage, env: npmEnv, encoding: 'utf8' }).trim().split('\n').pop()!;
    const tgz = path.join(tmp, tgzName);
    assert.ok(fs.existsSync(tgz), `npm pack wrote ${tgz}`);
    const prefix = path.join(tmp, 'prefix');
    execFileSync('npm', ['install', '-g', '--prefer-offline', '--no-audit', '--no-fund', '--prefix', prefix, tgz], { cwd: tmp, env: npmEnv, stdio: ['ignore', 'ignore', 'inherit'] });
    fs.rmSync(stage, { recursive: true, force: true });
    fs.rmSync(tgz);

    const bin = path.join(prefix, 'bin', 'sesame');
    const real = fs.realpathSync(bin);
    assert.ok(real.startsWith(fs.realpathSync(prefix) + path.sep), `the installed sesame lives in the prefix, not in a clone: ${real}`);
    const home = path.join(tmp, 'user');
    fs.mkdirSync(home, { mode: 0o700 });
    const passFile = path.join(home, 'pass');
    fs.writeFileSync(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    // Only the prefix's bin and the system on PATH; cwd outside the clone.
    const env: NodeJS.ProcessEnv = {
      PATH: `${path.join(prefix, 'bin')}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
      HOME: home,
      LANG: 'C.UTF-8',
      SESAME_HOME: path.join(home, '.sesame'),
      SESAME_PASSPHRASE_FILE: passFile,
    };
    const run = (args: string[], input?: string) => runProcess('sesame', args, { env, cwd: home, ...(input !== undefined ? { input } : {}) });

    const v = await run(['--version']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.out, `sesame ${pkg.version}\n`);
    const help = await run(['--help']);
    const docs = /^docs: (.+)$/m.exec(help.out)?.[1];
    assert.ok(docs && docs.startsWith(fs.realpathSync(prefix)), `the help footer points into the installed package: ${docs}`);
    assert.ok(fs.existsSync(path.join(docs, 'cli.md')));
    const topic = await run(['help', 'cli']);
    assert.equal(topic.code, 0, topic.stderr);
    assert.match(topic.out, /^# /);

    assert.equal((await run(['init', '--kdf-memory', '8', '--kdf-passes', '1'])).code, 0);
    assert.equal((await run(['set', 'API_KEY', '--raw'], 'from-the-installed-copy')).code, 0);
    const start = await run(['agent', 'start', '--background']);
    assert.equal(start.code, 0, start.stderr);
    try {
      // Without the passphrase file the agent is the only way to the value.
      const got = await runProcess('sesame', ['get', 'API_KEY'], { env: { ...env, SESAME_PASSPHRASE_FILE: undefined }, cwd: home });
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.out, 'from-the-installed-copy\n');
    } finally {
      await run(['agent', 'stop']);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
