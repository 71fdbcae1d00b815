// Minimal declarations for the parts of sodium-native that src/core/crypto/sodium.ts uses.
declare module 'sodium-native' {
  type B = Buffer | Uint8Array;
  export const crypto_pwhash_ALG_ARGON2ID13: number;
  export function crypto_pwhash(out: B, passwd: B, salt: B, opslimit: number, memlimit: number, alg: number): void;
  export function randombytes_buf(b: B): void;
  export const crypto_pwhash_STRBYTES: number;
  export function crypto_pwhash_str(out: B, passwd: B, opslimit: number, memlimit: number): void;
  export function crypto_pwhash_str_verify(str: B, passwd: B): boolean;
  export function crypto_aead_xchacha20poly1305_ietf_encrypt(c: B, m: B, ad: B | null, nsec: null, npub: B, k: B): number;
  export function crypto_aead_xchacha20poly1305_ietf_decrypt(m: B, nsec: null, c: B, ad: B | null, npub: B, k: B): number;
  export function crypto_generichash(out: B, input: B, key?: B): void;
  export function crypto_generichash_batch(out: B, inputs: B[], key?: B): void;
  export function sodium_malloc(size: number): Buffer & { secure: boolean };
  export function sodium_free(b: B): void;
  export function sodium_memzero(b: B): void;
  export function sodium_memcmp(a: B, b: B): boolean;
  export function sodium_mprotect_noaccess(b: B): void;
  export function sodium_mprotect_readonly(b: B): void;
  export function sodium_mprotect_readwrite(b: B): void;
}
