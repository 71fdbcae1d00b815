/**
 * The memory scanner the agent's "no copy left" tests rely on must be able to find a copy:
 * a scan that reads nothing would pass them all.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import test from 'node:test';
import { canReadForeignMemory, countInMemory } from '../helpers/procmem.js';

test('the memory scanner finds a value a live process holds (so a zero count means something)', async (t) => {
  if (!canReadForeignMemory()) {
    if (process.env.CI === 'true') assert.fail('reading another process memory needs root in CI');
    t.skip('needs root to read /proc/PID/mem');
    return;
  }
  const needle = randomBytes(24).toString('hex');
  // The child holds the needle in a Buffer and says so; the scan must see it.
  const child = spawn(process.execPath, ['-e', `const b = Buffer.from(process.argv[1]); process.stdout.write('ready\\n'); setInterval(() => b.length, 1000);`, needle], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => {
        resolve();
      });
      child.once('error', reject);
    });
    const r = countInMemory(child.pid!, [Buffer.from(needle, 'latin1')]);
    assert.ok(r.regions > 10, `read ${r.regions} regions`);
    assert.ok((r.counts[0] ?? 0) >= 1, 'the needle was found in the live process');
  } finally {
    child.kill('SIGKILL');
  }
});
