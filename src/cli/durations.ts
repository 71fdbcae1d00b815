/** How the CLI shows a duration it was given (the agent's idle and absolute TTLs). */

/** 900000 → "15m", 0 → "off". */
export function fmtDuration(ms: number): string {
  if (ms === 0) return 'off';
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  for (const [u, n] of units) if (ms % n === 0) return `${ms / n}${u}`;
  return `${ms}ms`;
}
