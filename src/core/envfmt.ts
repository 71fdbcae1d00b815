/**
 * Encoding secrets for shells and files, byte by byte, without turning values into
 * strings. Every encoder is exact: a value either round-trips byte for byte through its
 * consumer (eval in bash/zsh, source in fish, a dotenv parser, JSON.parse) or the encoder
 * refuses it with a clear error naming the key (never the value).
 *
 * Names are checked as strictly as values: `formatEnv` refuses a name that is not a key
 * name (it would be shell code in `export K=…`) or that no secret may set (envnames.ts:
 * LD_PRELOAD, BASH_ENV, PATH…), before writing anything.
 */
import { isUtf8 } from 'node:buffer';
import { checkSecretEnvName } from './envnames.js';
import { SesameError } from './errors.js';
import { isValidKeyName } from './names.js';

export type EnvFormat = 'shell' | 'fish' | 'dotenv' | 'json';
/** The output formats `env` accepts, in the order its usage lists them. */
export const ENV_FORMATS: readonly EnvFormat[] = ['shell', 'fish', 'dotenv', 'json'];

const Q = 0x27; // '
const BS = 0x5c; // \
const DQ = 0x22; // "
const BT = 0x60; // `

/** Each line writer: the name must be a key name (never shell code), the value NUL-free. */
function noNul(key: string, v: Buffer): void {
  if (!isValidKeyName(key)) throw new SesameError('INVALID', 'a secret has a name that is not a valid key name and cannot be written as a variable');
  if (v.includes(0)) {
    throw new SesameError('INVALID', `the value of ${key} contains a NUL byte and cannot be an environment variable`, { hint: 'store such data base64-encoded' });
  }
}

/** bash/zsh: export KEY='…' with ' written as '\'' — nothing inside single quotes is special. */
export function shellLine(key: string, v: Buffer): Buffer {
  noNul(key, v);
  const parts: Buffer[] = [Buffer.from(`export ${key}='`)];
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] === Q) {
      parts.push(v.subarray(start, i), Buffer.from(`'\\''`));
      start = i + 1;
    }
  }
  parts.push(v.subarray(start), Buffer.from(`'\n`));
  return Buffer.concat(parts);
}

/** fish: set -gx KEY '…' where only \\ and \' are escapes inside single quotes. */
export function fishLine(key: string, v: Buffer): Buffer {
  noNul(key, v);
  const parts: Buffer[] = [Buffer.from(`set -gx ${key} '`)];
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === Q || c === BS) {
      parts.push(v.subarray(start, i), Buffer.from([BS, c]));
      start = i + 1;
    }
  }
  parts.push(v.subarray(start), Buffer.from(`'\n`));
  return Buffer.concat(parts);
}

function hasSeq(v: Buffer, a: number, b: number): boolean {
  for (let i = 0; i + 1 < v.length; i++) if (v[i] === a && v[i + 1] === b) return true;
  return false;
}

/**
 * dotenv: values with a carriage return are refused (parsers normalise line endings);
 * single quotes when the value has none (literal, multi-line allowed), else double
 * quotes when that is exact (no " and no \n or \r escape sequences), else backticks. A value
 * no quoting can hold exactly is refused.
 */
export function dotenvLine(key: string, v: Buffer): Buffer {
  noNul(key, v);
  if (v.includes(0x0d)) {
    throw new SesameError('INVALID', `the value of ${key} contains a carriage return, which dotenv parsers turn into a newline`, { hint: 'use --format json or --format shell' });
  }
  if (!v.includes(Q)) return Buffer.concat([Buffer.from(`${key}='`), v, Buffer.from(`'\n`)]);
  if (!v.includes(DQ) && !hasSeq(v, BS, 0x6e) && !hasSeq(v, BS, 0x72)) return Buffer.concat([Buffer.from(`${key}="`), v, Buffer.from(`"\n`)]);
  if (!v.includes(BT)) return Buffer.concat([Buffer.from(`${key}=\``), v, Buffer.from('`\n')]);
  throw new SesameError('INVALID', `the value of ${key} cannot be written exactly in dotenv format (it contains every kind of quote)`, {
    hint: 'use --format json or --format shell',
  });
}

/** A JSON string literal from UTF-8 bytes; refuses bytes that are not UTF-8. */
export function jsonString(key: string, v: Buffer): Buffer {
  if (!isUtf8(v)) throw new SesameError('INVALID', `the value of ${key} is not valid UTF-8 and cannot be written as JSON`, { hint: 'use --format shell' });
  const parts: Buffer[] = [Buffer.from('"')];
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === DQ || c === BS || c < 0x20) {
      parts.push(v.subarray(start, i), Buffer.from(c === DQ ? '\\"' : c === BS ? '\\\\' : `\\u${c.toString(16).padStart(4, '0')}`));
      start = i + 1;
    }
  }
  parts.push(v.subarray(start), Buffer.from('"'));
  return Buffer.concat(parts);
}

/** The whole document for a format, or INVALID for a bad name or value. The caller wipes the result after writing it. */
export function formatEnv(format: EnvFormat, secrets: Array<[string, Buffer]>): Buffer {
  for (const [k] of secrets) checkSecretEnvName(k);
  if (format === 'json') {
    const parts: Buffer[] = [Buffer.from('{')];
    secrets.forEach(([k, v], i) => {
      parts.push(Buffer.from(`${i ? ',' : ''}\n  ${JSON.stringify(k)}: `), jsonString(k, v));
    });
    parts.push(Buffer.from(secrets.length ? '\n}\n' : '}\n'));
    return wipeParts(parts);
  }
  const line = format === 'shell' ? shellLine : format === 'fish' ? fishLine : dotenvLine;
  return wipeParts(secrets.map(([k, v]) => line(k, v)));
}

function wipeParts(parts: Buffer[]): Buffer {
  const out = Buffer.concat(parts);
  for (const p of parts) p.fill(0);
  return out;
}
