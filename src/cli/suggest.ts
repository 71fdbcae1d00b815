/**
 * "did you mean …": the closest of some known names to what the user typed, by edit
 * distance (Damerau–Levenshtein, optimal string alignment), for unknown commands, options
 * and keys. Imports nothing: the executable's start-up path (args.ts) loads it.
 */

/** The edit distance between a and b: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[m]![n]!;
}

/**
 * The known names closest to `word` (case-insensitive), best first, at most three: those
 * within a third of the word's length in edits (at least 1, at most 3), or that differ only
 * in case. Empty when nothing is close. Long inputs are not compared (at most 128 chars).
 */
export function closest(word: string, known: Iterable<string>): string[] {
  if (word.length > 128) return [];
  const w = word.toLowerCase();
  const limit = Math.min(3, Math.max(1, Math.floor(w.length / 3)));
  const scored: Array<[number, string]> = [];
  for (const k of known) {
    if (k.length > 128) continue;
    const dist = editDistance(w, k.toLowerCase());
    if (dist <= limit) scored.push([dist, k]);
  }
  scored.sort((x, y) => x[0] - y[0] || x[1].localeCompare(y[1]));
  return scored.slice(0, 3).map(([, k]) => k);
}

/** " (did you mean X?)" / " (did you mean X or Y?)", each prefixed with `prefix`, or "" when nothing is close. */
export function didYouMean(word: string, known: Iterable<string>, prefix = ''): string {
  const c = closest(word, known).map((k) => `${prefix}${k}`);
  if (!c.length) return '';
  return ` (did you mean ${c.length === 1 ? c[0] : `${c.slice(0, -1).join(', ')} or ${c[c.length - 1]}`}?)`;
}
