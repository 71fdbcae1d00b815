/**
 * The passphrase chain keeps no registry: it asks exactly the order its caller passes
 * (ChainContext.order, or an explicit list), and a lazy step loads only when every step
 * before it was absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadChain, probeChain, resolvePassphrase, type ChainStep, type Tier } from '../../src/core/passphrase/chain.js';
import { DEFAULT_ORDER } from '../../src/core/passphrase/order.js';
import { MACHINE_TIERS } from '../../src/core/passphrase/tiers.js';
import { SesameError } from '../../src/core/errors.js';
import { chainHome } from '../helpers/chain.js';

const fixed = (name: Tier['name'], value: string | null, asked: string[]): Tier => ({
  name,
  probe: () => Promise.resolve({ tier: name, state: value === null ? 'absent' : 'present' }),
  fetch: () => {
    asked.push(name);
    return Promise.resolve(value === null ? null : Buffer.from(value));
  },
});

test('the chain asks only the tiers in the order it is given, whatever modules were loaded', async () => {
  assert.equal(MACHINE_TIERS.length, 4, 'tiers.ts is loaded in this process');
  const h = chainHome({ SESAME_PASSPHRASE: 'from-env' });
  try {
    const asked: string[] = [];
    const ctx = { ...h.ctx, order: [fixed('keyring', null, asked)] };
    await assert.rejects(resolvePassphrase(ctx), (e: unknown) => e instanceof SesameError && e.code === 'LOCKED');
    assert.deepEqual(asked, ['keyring'], 'SESAME_PASSPHRASE is set, but env is not in this order');
    assert.deepEqual(
      (await probeChain(ctx)).map((s) => s.tier),
      ['keyring'],
    );
    const r = await resolvePassphrase(h.ctx);
    assert.equal(r.tier, 'env');
    r.passphrase.fill(0);
  } finally {
    h.cleanup();
  }
});

test('a lazy step is loaded only when every step before it was absent', async () => {
  const h = chainHome();
  try {
    const asked: string[] = [];
    let loaded = 0;
    const lazy: ChainStep = () => {
      loaded++;
      return Promise.resolve([fixed('command', 'from-lazy', asked)]);
    };
    const first = await resolvePassphrase({ ...h.ctx, order: [fixed('env', 'from-env', asked), lazy] });
    assert.equal(first.tier, 'env');
    assert.equal(loaded, 0, 'the lazy step was not loaded');
    const second = await resolvePassphrase({ ...h.ctx, order: [fixed('env', null, asked), lazy] });
    assert.equal(second.tier, 'command');
    assert.equal(loaded, 1);
    assert.deepEqual(
      (await loadChain(DEFAULT_ORDER)).map((t) => t.name),
      ['env', 'file', 'session', 'sealed', 'keyring', 'command', 'prompt'],
    );
  } finally {
    h.cleanup();
  }
});
