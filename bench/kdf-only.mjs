// Baseline for `sesame get --no-agent`: Node start + loading libsodium + one Argon2id
// derivation with sesame's default parameters (64 MiB, 3 passes). Nothing else.
import { createRequire } from 'node:module';
const sodium = createRequire(import.meta.url)('sodium-native');
const out = Buffer.alloc(32);
sodium.crypto_pwhash(out, Buffer.from('bench passphrase'), Buffer.alloc(16, 7), 3, 64 * 1024 * 1024, sodium.crypto_pwhash_ALG_ARGON2ID13);
