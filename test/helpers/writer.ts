/**
 * A vault writer that never stops: sets COUNTER to 1, 2, 3, … (with some padding so each
 * write takes a while), printing "ready" after its first write. Tests kill -9 it at random
 * moments and check that the vault always opens with a consistent COUNTER.
 * usage: node writer.js HOME PASSPHRASE
 */
import { homePaths } from '../../src/core/paths.js';
import { mutateVault, unlockVault } from '../../src/core/vault/store.js';
import { randomBytes } from 'node:crypto';
import { reveal } from './access-reveal.js';

const [home, pass] = process.argv.slice(2);
const paths = homePaths(home!);
const v = unlockVault(paths, Buffer.from(pass!));
const master = v.master;
let start = 0;
mutateVault(paths, master, {}, (w) => {
  start = w.has('default', 'COUNTER') ? Number(reveal(w, 'default', 'COUNTER').toString()) : 0;
});
for (let i = start + 1; ; i++) {
  mutateVault(paths, master, {}, (w) => {
    w.set('default', 'COUNTER', Buffer.from(String(i)));
    w.set('default', `PAD_${i % 4}`, randomBytes(64 * 1024));
  });
  if (i === start + 1) process.stdout.write('ready\n');
}
