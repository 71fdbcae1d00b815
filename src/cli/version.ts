/** sesame's version, printed by `sesame --version` and reported by `status` and the agent. */
export const VERSION = '0.1.0';
