/**
 * The first module each executable runs (imported first by bin.ts for dist/sesame.cjs and by
 * src/daemon/main.ts for dist/sesame-agent.cjs, so esbuild places it ahead of every other
 * module's code): Node opens its inspector on 127.0.0.1:9229 when it
 * receives SIGUSR1 — any local user could then run code in this process and read what it
 * holds (the agent's key, a value, a passphrase). A listener replaces that default for the
 * life of the process. The agent adds its own listener that logs each one (agent-serve.ts).
 */
process.on('SIGUSR1', ignoreSigusr1);

function ignoreSigusr1(): void {
  /* never an inspector */
}

export {};
