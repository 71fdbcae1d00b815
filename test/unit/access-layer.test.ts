/**
 * Layer rule for the plaintext door: exactly one module of src/ turns ciphertext of the vault
 * into plaintext, src/core/access.ts, through the vault's one decrypting method
 * `UnlockedVault[DECRYPT]` (a symbol-keyed, `@internal` method). Everything else — the
 * agent's ops and handlers, the CLI's direct reads — goes through the door.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { DECRYPT, UnlockedVault } from '../../src/core/vault/vault.js';

const DOOR = 'src/core/access.ts';
const VAULT = 'src/core/vault/vault.ts';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const n of fs.readdirSync(dir)) {
    const p = path.join(dir, n);
    if (fs.statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(n)) out.push(p);
  }
  return out;
}

/** Comments hold prose about the door; only code counts. Strings stay (a computed key could hide there). */
const code = (src: string): string => src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

test("only the plaintext door reaches the vault's decrypting method", () => {
  const offenders: string[] = [];
  for (const file of sources(path.join(ROOT, 'src'))) {
    const rel = path.relative(ROOT, file).split(path.sep).join('/');
    if (rel === DOOR || rel === VAULT) continue;
    const text = code(fs.readFileSync(file, 'utf8'));
    // The method's key, by name (any import, alias or namespace access names it) or by its description.
    if (/\bDECRYPT\b/.test(text) || text.includes('sesame.vault.decrypt')) offenders.push(`${rel}: names DECRYPT`);
    // Reaching a symbol-keyed method without its name.
    if (/getOwnPropertySymbols|Reflect\.ownKeys|getOwnPropertyDescriptors/.test(text)) offenders.push(`${rel}: enumerates symbol keys`);
  }
  assert.deepEqual(offenders, []);
});

test('the door is the one module that imports the decrypting key, and uses it', () => {
  const door = code(fs.readFileSync(path.join(ROOT, DOOR), 'utf8'));
  assert.match(door, /import \{[^}]*\bDECRYPT\b[^}]*\} from '\.\/vault\/vault\.js'/);
  assert.match(door, /\[DECRYPT\]\(/);
});

test("in the vault, libsodium's open() decrypts a value only inside #unseal, reached from [DECRYPT] and the re-sealing writes alone", () => {
  const vault = code(fs.readFileSync(path.join(ROOT, VAULT), 'utf8'));
  const calls = [...vault.matchAll(/(?<![\w.])open\(/g)].map((m) => m.index);
  assert.equal(calls.length, 1, 'exactly one call of open() in vault.ts');
  const start = vault.indexOf('#unseal(project: string');
  const end = vault.indexOf('\n  }\n', start);
  assert.ok(start > 0 && end > start, 'the #unseal method is found');
  assert.ok(calls[0]! > start && calls[0]! < end, 'the one open() is inside #unseal');
  // Who calls #unseal: [DECRYPT] (the door's), and the writes that re-seal a value without
  // returning it (history on set, mv/cp/rename, rollback). Reviewed: a new caller must be added
  // here deliberately, once it is clear no plaintext leaves the class.
  const method = (at: number): string => {
    const head = vault.lastIndexOf('\n  ', at);
    const names = [...vault.slice(0, at).matchAll(/\n {2}(?:static )?(#?\[?[A-Za-z]+\]?)\(/g)];
    return head >= 0 && names.length ? names[names.length - 1]![1]! : '?';
  };
  const callers = [...vault.matchAll(/this\.#unseal\(/g)].map((m) => method(m.index));
  assert.deepEqual([...new Set(callers)].sort(), ['#plains', '#toHistory', '[DECRYPT]', 'rollback'].sort());
});

test('UnlockedVault has no other way to a value: no public decrypting method, one symbol-keyed method', () => {
  const proto = UnlockedVault.prototype as unknown as Record<PropertyKey, unknown>;
  assert.deepEqual(Object.getOwnPropertySymbols(proto), [DECRYPT]);
  assert.equal(typeof proto[DECRYPT], 'function');
  // Reviewed: none of these returns a value's plaintext. A new method must be added here
  // deliberately, once it is clear it does not decrypt (values go through src/core/access.ts).
  const reviewed = [
    'constructor',
    'doc',
    'vaultId',
    'master',
    'finalize',
    'projectNames',
    'hasProject',
    'createProject',
    'deleteProject',
    'list',
    'has',
    'entry',
    'select',
    'set',
    'cachedProjectKeys', // names and use counts only (idle eviction)
    'evictProjectKey', // wipes a key, returns a boolean
    'rm',
    'restore',
    'purge',
    'rollback',
    'transfer',
    'renameProject',
    'changePassphrase',
    'dispose',
  ];
  assert.deepEqual(Object.getOwnPropertyNames(proto).sort(), [...reviewed].sort());
  // The key is a unique symbol: not reachable through the global registry by its description.
  assert.notEqual(Symbol.for('sesame.vault.decrypt'), DECRYPT);
});
