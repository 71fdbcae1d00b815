/**
 * Durations written in files the core reads (a profile's `ttl`, `approval_timeout`): the
 * same grammar as the CLI's `--ttl` (src/cli/args.ts `parseDuration`), kept here because
 * the core never imports the CLI. Pure; never throws.
 *
 * Grammar: digits, an optional fraction, an optional unit `ms|s|m|h|d` (bare: seconds).
 * Exact (integers only): a fraction must come to whole milliseconds. At most MAX_MS.
 */

/** The longest duration accepted: a year (same as the CLI's limit). */
export const MAX_MS = 365 * 86_400_000;

const UNIT_MS = { ms: 1n, s: 1000n, m: 60_000n, h: 3_600_000n, d: 86_400_000n } as const;

/** The duration `s` in whole milliseconds, or a reason it is not one (never quoting more than 64 characters). */
export function parseDurationText(s: string): { ms: number } | { error: string } {
  const m = /^(\d{1,40})(?:\.(\d{1,40}))?(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) return { error: 'expected e.g. 30s, 15m, 8h or 1d' };
  const frac = m[2] ?? '';
  const scale = 10n ** BigInt(frac.length);
  const scaled = (BigInt(m[1]!) * scale + BigInt(frac || '0')) * UNIT_MS[(m[3] ?? 's') as keyof typeof UNIT_MS];
  if (scaled % scale !== 0n) return { error: 'not a whole number of milliseconds' };
  const ms = scaled / scale;
  if (ms > BigInt(MAX_MS)) return { error: 'more than the limit of 365d' };
  return { ms: Number(ms) };
}
