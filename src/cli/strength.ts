/**
 * Passphrase strength at `init` and `passphrase change`: an estimate by zxcvbn-ts (loaded
 * only here, so no other command pays for its dictionaries). A weak passphrase is warned
 * about; with --require-strong it is refused. The estimator takes a JavaScript string, so
 * the new passphrase exists once as a string in this process while it is scored (a residual
 * documented in docs/threat-model.md); nothing here prints or keeps it.
 */
import { SesameError } from '../core/errors.js';
import { warn } from './output.js';

/** The lowest zxcvbn score (0–4) not called weak. */
const STRONG_SCORE = 3;

/**
 * Scores `passphrase` (never printed). Below STRONG_SCORE: a warning naming why and what
 * would help, or with `requireStrong` INVALID (nothing was changed). `hints` are words the
 * passphrase should not lean on (the user name, "sesame").
 */
export async function checkStrength(passphrase: Buffer, requireStrong: boolean, hints: string[] = []): Promise<void> {
  const [coreMod, commonMod, enMod] = await Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common'), import('@zxcvbn-ts/language-en')]);
  // The bundle may load these as CommonJS: their exports are then under `default`.
  const { ZxcvbnFactory } = cjs(coreMod);
  const common = cjs(commonMod);
  const en = cjs(enMod);
  const z = new ZxcvbnFactory({ translations: en.translations, graphs: common.adjacencyGraphs, dictionary: { ...common.dictionary, ...en.dictionary } });
  const r = z.check(passphrase.toString('utf8'), ['sesame', ...hints]);
  if (r.score >= STRONG_SCORE) return;
  const why = [r.feedback.warning, ...r.feedback.suggestions].filter((s): s is string => typeof s === 'string' && s.length > 0).join(' ');
  const what = `the new passphrase is weak (strength ${r.score} of 4)${why ? `: ${why}` : ''}`;
  if (requireStrong) {
    throw new SesameError('INVALID', `${what}; nothing was changed`, { hint: 'choose a longer one: four or more uncommon words, or a long random string from a password manager' });
  }
  warn(`${what} — it is the only thing between a copy of the vault file and your secrets; pass --require-strong to refuse weak ones`);
}

/** A module's exports, whether it was loaded as an ES module or as CommonJS (under `default`). */
function cjs<T extends object>(m: T): T {
  const d = (m as { default?: unknown }).default;
  return d && typeof d === 'object' && !(Object.keys(m).length > 1) ? (d as T) : m;
}
