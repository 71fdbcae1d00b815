// Prints medians and paired comparisons from hyperfine --export-json files.
// usage: node bench/summarize.mjs FILE.json [--base NAME] [--diff A B ...]
import { readFileSync } from 'node:fs';

const [file, ...rest] = process.argv.slice(2);
const { results } = JSON.parse(readFileSync(file, 'utf8'));
const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const byName = new Map(results.map((r) => [r.command, r]));
for (const r of results) console.log(`${r.command.padEnd(34)} median ${(r.median * 1000).toFixed(1).padStart(7)} ms  (min ${(r.min * 1000).toFixed(1)}, max ${(r.max * 1000).toFixed(1)}, n=${r.times.length})`);
for (let i = 0; i < rest.length; i++) {
  const [a, b] = [byName.get(rest[i + 1]), byName.get(rest[i + 2])];
  if (rest[i] === '--ratio' && a && b) {
    // paired: hyperfine alternates nothing, so pair the i-th run of each (same warm state, close in time)
    const n = Math.min(a.times.length, b.times.length);
    const ratios = Array.from({ length: n }, (_, j) => a.times[j] / b.times[j]);
    console.log(`ratio ${a.command} / ${b.command}: median of medians ${(a.median / b.median).toFixed(3)}x, median paired ${med(ratios).toFixed(3)}x`);
    i += 2;
  } else if (rest[i] === '--diff' && a && b) {
    console.log(`difference ${a.command} - ${b.command}: ${((a.median - b.median) * 1000).toFixed(1)} ms (medians)`);
    i += 2;
  }
}
