import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { SesameError } from '../../src/core/errors.js';
import { attributeWrongPassphrase, loadChain, probeChain, resolvePassphrase, type Tier } from '../../src/core/passphrase/chain.js';
import { DEFAULT_ORDER } from '../../src/core/passphrase/order.js';
import { chainHome, script, writeConfig } from '../helpers/chain.js';
import { PASSPHRASE } from '../helpers/cli.js';

test('the chain runs env, file, session, sealed, keyring, command, then the prompt', async () => {
  assert.deepEqual(
    (await loadChain(DEFAULT_ORDER)).map((t) => t.name),
    ['env', 'file', 'session', 'sealed', 'keyring', 'command', 'prompt'],
  );
});

test('the first tier that answers wins and later tiers are never asked', async () => {
  const h = chainHome({ SESAME_PASSPHRASE: 'from-env' });
  const marker = `${h.base}/command-ran`;
  writeConfig(h, `passphrase_command = ["${script(h, 'cmd.sh', `touch ${marker}; echo from-command`)}"]\n`);
  const r = await resolvePassphrase(h.ctx);
  assert.equal(r.tier, 'env');
  assert.equal(r.passphrase.toString(), 'from-env');
  assert.equal(fs.existsSync(marker), false, 'the command tier was not run');
  h.cleanup();
});

test('an absent tier falls through to the next one', async () => {
  const h = chainHome();
  writeConfig(h, `passphrase_command = ["${script(h, 'cmd.sh', 'echo from-command')}"]\n`);
  const r = await resolvePassphrase(h.ctx);
  assert.equal(r.tier, 'command', 'env, file, session, sealed and keyring were absent');
  assert.equal(r.passphrase.toString(), 'from-command');
  h.cleanup();
});

test('a tier that fails stops the chain: nothing after it is asked (fail closed)', async () => {
  const h = chainHome();
  let asked = false;
  const failing: Tier = {
    name: 'sealed',
    probe: async () => ({ tier: 'sealed', state: 'unusable' }),
    fetch: async () => {
      throw new SesameError('UNAVAILABLE', 'cannot unseal');
    },
  };
  const later: Tier = {
    name: 'prompt',
    probe: async () => ({ tier: 'prompt', state: 'present' }),
    fetch: async () => {
      asked = true;
      return Buffer.from(PASSPHRASE);
    },
  };
  await assert.rejects(resolvePassphrase(h.ctx, [failing, later]), /cannot unseal/);
  assert.equal(asked, false);
  h.cleanup();
});

test('with no source and no terminal the chain reports LOCKED', async () => {
  const h = chainHome();
  await assert.rejects(resolvePassphrase(h.ctx), (e: unknown) => e instanceof SesameError && e.code === 'LOCKED');
  h.cleanup();
});

test('a probe that throws is shown as unusable, never as a crash', async () => {
  const h = chainHome();
  writeConfig(h, 'passphrase_comand = "typo"\n');
  const states = await probeChain(h.ctx);
  const cmd = states.find((s) => s.tier === 'command');
  assert.equal(cmd?.state, 'unusable');
  assert.match(cmd?.detail ?? '', /unknown field "passphrase_comand"/);
  h.cleanup();
});

test('a wrong passphrase error names the tier it came from, never the passphrase', () => {
  const e = attributeWrongPassphrase(new SesameError('WRONG_PASSPHRASE', 'wrong passphrase'), 'keyring') as SesameError;
  assert.equal(e.code, 'WRONG_PASSPHRASE');
  assert.match(e.message, /from the OS keyring/);
  assert.deepEqual(e.detail, { tier: 'keyring' });
  const other = new SesameError('INTEGRITY', 'x');
  assert.equal(attributeWrongPassphrase(other, 'file'), other, 'other errors pass through unchanged');
});
