// The redactor benchmark's input: a log-like text file (words, hex ids, base64 blobs, JSON
// lines, colour codes) with a secret of the set written in, raw or encoded, about once per
// 64 KiB, and the secrets themselves (one hex line each) for bench/mask-filter.mjs.
//
//   node bench/mask-gen.mjs OUT_FILE SECRETS_FILE [MiB=100] [SECRETS=100]
// Deterministic (seeded), so two runs write the same bytes.
import { createWriteStream, writeFileSync } from 'node:fs';

const [out, secretsFile, mib = '100', count = '100'] = process.argv.slice(2);
if (out === undefined || secretsFile === undefined) {
  console.error('usage: node bench/mask-gen.mjs OUT_FILE SECRETS_FILE [MiB] [SECRETS]');
  process.exit(2);
}
let seed = 0x5e5a3e;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const bytes = (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const token = (n) => Array.from({ length: n }, () => pick([...ALNUM])).join('');

// Secrets shaped like real ones: API tokens, hex keys, passwords with punctuation.
const secrets = Array.from({ length: Number(count) }, (_, i) =>
  Buffer.from(i % 3 === 0 ? `sk_live_${token(24)}` : i % 3 === 1 ? bytes(20).toString('hex') : `${token(12)}!#${token(4)}/+=`),
);
writeFileSync(secretsFile, secrets.map((s) => s.toString('hex')).join('\n') + '\n', { mode: 0o600 });

const WORDS = 'the plan will create update destroy resource aws_instance web module vpc subnet id arn region us-east-1 tags Name known after apply error warning info debug GET POST 200 404 500 request response ms bytes user cache hit miss'.split(' ');
function line() {
  const k = rnd();
  if (k < 0.35) return `${new Date(1_700_000_000_000 + Math.floor(rnd() * 1e9)).toISOString()} ${pick(['INFO', 'WARN', 'DEBUG'])} ${Array.from({ length: 8 + Math.floor(rnd() * 10) }, () => pick(WORDS)).join(' ')} id=${bytes(8).toString('hex')}\n`;
  if (k < 0.55) return `{"level":"info","msg":"${Array.from({ length: 5 }, () => pick(WORDS)).join(' ')}","req":"${bytes(12).toString('base64')}","ms":${Math.floor(rnd() * 900)}}\n`;
  if (k < 0.7) return `  \x1b[32m+\x1b[0m ${pick(WORDS)}.${pick(WORDS)} = "${token(10)}"\n`;
  if (k < 0.85) return `${bytes(48).toString('base64')}\n`;
  return `${Array.from({ length: 12 }, () => pick(WORDS)).join(' ')}\n`;
}
function secretLine() {
  const s = pick(secrets);
  const enc = pick([s.toString('latin1'), s.toString('base64'), s.toString('hex'), encodeURIComponent(s.toString('latin1')), JSON.stringify(s.toString('latin1')).slice(1, -1)]);
  return `token=${enc}\n`;
}

const ws = createWriteStream(out);
const total = Number(mib) * 1024 * 1024;
let written = 0;
let nextSecret = 64 * 1024;
function pump() {
  while (written < total) {
    let chunk = '';
    while (chunk.length < 65536) {
      chunk += line();
      if (written + chunk.length >= nextSecret) {
        chunk += secretLine();
        nextSecret += 64 * 1024;
      }
    }
    const b = Buffer.from(chunk, 'latin1').subarray(0, total - written);
    written += b.length;
    if (!ws.write(b)) return ws.once('drain', pump);
  }
  ws.end();
}
pump();
