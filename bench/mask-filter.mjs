// A stdin → stdout filter through the redactor, for bench/mask.sh: the masking work of
// `sesame exec`/`run --mask` without the agent around it.
//
//   node bench/mask-filter.mjs REDACT_MODULE SECRETS_FILE [N] < in > out
// REDACT_MODULE: the redactor built to one file (bench/mask.sh bundles src/core/redact with
// esbuild). N: how many of the secrets (hex lines) to mask (default all). With N=0 the filter
// copies stdin to stdout, the same way, without a redactor: the cost of Node itself.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [mod, secretsFile, nArg] = process.argv.slice(2);
const { createRedactor } = await import(pathToFileURL(resolve(mod)).href);
const all = readFileSync(secretsFile, 'utf8').trim().split('\n');
const n = nArg === undefined ? all.length : Number(nArg);
const needles = all.slice(0, n).map((h, i) => ({ name: `SECRET_${i}`, value: Buffer.from(h, 'hex') }));
const red = n === 0 ? null : createRedactor(needles);

process.stdin.on('data', (chunk) => {
  const out = red === null ? chunk : red.push(chunk);
  if (!process.stdout.write(out)) {
    process.stdin.pause();
    process.stdout.once('drain', () => process.stdin.resume());
  }
});
process.stdin.on('end', () => {
  if (red !== null) {
    process.stdout.write(red.flush());
    if (process.env.MASK_COUNTS === '1') process.stderr.write(JSON.stringify(red.counts()) + '\n');
    red.wipe();
  }
});
