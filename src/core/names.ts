/**
 * The rules for names: keys (environment-variable names sesame accepts) and projects.
 * Pure; the only module that defines them (the agent, the client and the vault all check
 * names through here).
 */
import { SesameError } from './errors.js';

/** The key-name rule in words, for messages (KEY_RE below is the rule itself). */
export const KEY_NAME_RULE = 'a key name must match [A-Za-z_][A-Za-z0-9_]* and be at most 256 characters';
const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;

/** true when `name` is a valid key name (an environment-variable name sesame accepts). Never throws. */
export function isValidKeyName(name: string): boolean {
  return KEY_RE.test(name);
}

/** Returns `name` when it is a valid key name; INVALID otherwise (the name shown cut to 64 characters). */
export function checkKeyName(name: string): string {
  if (!isValidKeyName(name)) {
    const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
    throw new SesameError('INVALID', `invalid key name ${JSON.stringify(shown)}: ${KEY_NAME_RULE}`, {
      hint: 'use letters, digits and underscores, not starting with a digit (e.g. DATABASE_URL)',
    });
  }
  return name;
}

/** The project-name rule in words, for messages (PROJECT_RE below is the rule itself). */
export const PROJECT_NAME_RULE = 'a project name must match [A-Za-z0-9][A-Za-z0-9_.-]* and be at most 64 characters';
const PROJECT_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** true when `name` is a valid project name. Never throws. */
export function isValidProjectName(name: string): boolean {
  return PROJECT_RE.test(name);
}

/** Returns `name` when it is a valid project name; INVALID otherwise. */
export function checkProjectName(name: string): string {
  if (!PROJECT_RE.test(name)) {
    throw new SesameError('INVALID', `invalid project name ${JSON.stringify(name.slice(0, 64))}: ${PROJECT_NAME_RULE}`);
  }
  return name;
}

/** The project every command uses when none is named: it always exists and cannot be deleted. */
export const DEFAULT_PROJECT = 'default';
