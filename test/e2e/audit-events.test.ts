/**
 * The audit vocabulary, table-driven (issue 12, "every event listed appears for its action"):
 * for every row of src/core/audit/events.ts EVENTS, the action that produces it, run against
 * the built CLI and a real agent in one home; then the record it must leave. A row with
 * neither an action here nor a `pending` mark fails; so does a pending row that has an action
 * (remove the mark). Denials are a second table: each reason, its action, its record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EVENTS } from '../../src/core/audit/events.js';
import { initHome, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { alive, ask, startAgent, startForeground, stopAgent, waitFor, type Reply } from '../helpers/agent.js';

interface Rec {
  seq: number;
  event: string;
  outcome: string;
  reason?: string;
  via: string;
  project?: string;
  keys?: string[];
  mac: string | null;
}

/** What a record must look like (every given field equal; `reason` may be a RegExp). */
type Want = { event: string; outcome: string; reason?: string | RegExp; via?: string | RegExp; project?: string; keys?: string[]; keyed?: boolean };

interface World {
  h: TestHome;
  /** The token minted by `token_mint` (keys ALPHA*), its id. */
  token: string;
  id8: string;
}

type Action = (w: World) => Promise<Want[]>;

const ALPHA = 'alpha-event-table-value-5c2e9';
const BETA = 'beta-event-table-value-0d7a1';
let nextId = 1;
const v2 = (sock: string, req: Record<string, unknown>): Promise<Reply> => ask(sock, { v: 2, id: nextId++, ...req });
const ownerSock = (w: World): string => path.join(w.h.dir, 'agent.sock');
const profileSock = (w: World, name: string): string => path.join(w.h.dir, 'sockets', `${name}.sock`);

async function ok(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<string> {
  const r = await sesame(args, { env, ...(input === undefined ? {} : { input }) });
  assert.equal(r.code, 0, `sesame ${args.join(' ')}: ${r.stderr}`);
  return r.out;
}

const agentPid = (w: World): number => Number(fs.readFileSync(path.join(w.h.dir, 'agent.pid'), 'utf8').trim());

async function waitStopped(w: World, pid: number): Promise<void> {
  await waitFor('the agent to stop', () => !alive(pid), 15_000);
}

/**
 * Event → the action that produces it and the records it must leave. Actions run in this
 * order in one home; an agent started by one is stopped by a later one.
 */
const ACTIONS: Record<string, Action> = {
  init: () => Promise.resolve([{ event: 'init', outcome: 'ok', via: 'cli' }]), // initHome, before the table
  set: async (w) => {
    await setSecret(w.h, 'GAMMA', 'gamma-event-table-value-e81f');
    return [{ event: 'set', outcome: 'ok', reason: 'added', project: 'default', keys: ['GAMMA'], keyed: true }];
  },
  rm: async (w) => {
    await ok(['rm', 'GAMMA'], w.h.env);
    return [{ event: 'rm', outcome: 'ok', keys: ['GAMMA'], keyed: true }];
  },
  import: async (w) => {
    const f = path.join(path.dirname(w.h.dir), 'in.env');
    fs.writeFileSync(f, 'IMPORTED_ONE=imported-event-table-value-77\n', { mode: 0o600 });
    await ok(['import', f], w.h.env);
    return [{ event: 'import', outcome: 'ok', keys: ['IMPORTED_ONE'], keyed: true }];
  },
  project_create: async (w) => {
    await ok(['projects', 'create', 'scratch'], w.h.env);
    return [{ event: 'project_create', outcome: 'ok', project: 'scratch', keyed: true }];
  },
  project_delete: async (w) => {
    await ok(['projects', 'delete', 'scratch'], w.h.env);
    return [{ event: 'project_delete', outcome: 'ok', project: 'scratch', keyed: true }];
  },
  passphrase: async (w) => {
    await ok(['passphrase', 'acknowledge'], w.h.env);
    return [{ event: 'passphrase', outcome: 'ok', reason: 'acknowledge' }];
  },
  unlock: async (w) => {
    const wrong = path.join(path.dirname(w.h.dir), 'wrong-pass');
    fs.writeFileSync(wrong, 'not the passphrase at all\n', { mode: 0o600 });
    const r = await sesame(['get', '--no-agent', 'ALPHA'], { env: { ...w.h.env, SESAME_PASSPHRASE_FILE: wrong } });
    assert.notEqual(r.code, 0);
    return [{ event: 'unlock', outcome: 'denied', reason: 'wrong_passphrase', via: 'cli', keyed: false }];
  },
  get: async (w) => {
    assert.equal((await ok(['get', '--no-agent', 'ALPHA'], w.h.env)).trim(), ALPHA);
    return [{ event: 'get', outcome: 'ok', via: 'cli', keys: ['ALPHA'], keyed: true }];
  },
  getselected: async (w) => {
    assert.ok((await ok(['env', '--no-agent', '--only', 'ALPHA,BETA'], w.h.env)).includes(BETA));
    await ok(['run', '--no-agent', '--only', 'BETA', '--', 'sh', '-c', 'test -n "$BETA"'], w.h.env);
    return [
      { event: 'getselected', outcome: 'ok', via: 'cli', keys: ['ALPHA', 'BETA'], keyed: true },
      { event: 'getselected', outcome: 'ok', via: 'cli', keys: ['BETA'], keyed: true },
    ];
  },
  list: async (w) => {
    await ok(['list'], w.h.env);
    return [{ event: 'list', outcome: 'ok', via: 'cli', project: 'default', keyed: false }];
  },
  token_mint: async (w) => {
    const r = await sesame(['token', 'new', '--project', 'default', '--keys', 'ALPHA*'], { env: w.h.env });
    assert.equal(r.code, 0, r.stderr);
    w.token = r.out.trim();
    w.id8 = /token ([0-9a-f]{8}) made/.exec(r.stderr)?.[1] ?? '';
    assert.ok(w.id8, r.stderr);
    return [{ event: 'token_mint', outcome: 'ok', reason: `token:${w.id8}`, keyed: false }];
  },
  agent_start: async (w) => {
    await startAgent(w.h);
    return [{ event: 'agent_start', outcome: 'ok', via: 'agent', keyed: true }];
  },
  policy_reload: async (w) => {
    process.kill(agentPid(w), 'SIGHUP');
    await waitFor('the reload record', () => fs.readFileSync(path.join(w.h.dir, 'audit.jsonl'), 'utf8').includes('"event":"policy_reload"'), 10_000);
    return [{ event: 'policy_reload', outcome: 'ok', reason: 'sighup', via: 'agent', keyed: true }];
  },
  // (through the agent: `get` and `getselected` above ran on the direct path; these rows add the agent's)
  request: async (w) => {
    // An op that records no event of its own (stop), refused before it runs: only the owner may stop the agent.
    const r = await v2(profileSock(w, 'box'), { op: 'stop' });
    assert.equal(r.frame, 'error', JSON.stringify(r));
    return [{ event: 'request', outcome: 'denied', reason: 'owner_only', via: 'profile:box', keyed: true }];
  },
  connect: async (w) => {
    // Profile `strict` serves only uid 1234: this process (root, or whoever runs the suite) is refused on accept.
    const r = await ask(profileSock(w, 'strict'), { v: 2, id: nextId++, op: 'status' }).catch((): Reply => ({}));
    assert.notEqual(r.frame, 'ok');
    return [{ event: 'connect', outcome: 'denied', reason: 'peer', via: 'profile:strict', keyed: true }];
  },
  token_revoke: async (w) => {
    // The agent reads served first (so the revocation does not refuse them).
    const { SESAME_PASSPHRASE_FILE: _p, ...rest } = w.h.env;
    assert.equal((await ok(['get', 'ALPHA'], { ...rest, SESAME_AGENT_TOKEN: w.token })).trim(), ALPHA);
    await ok(['get', 'ALPHA'], w.h.env);
    const l = await v2(ownerSock(w), { op: 'list', project: 'default' });
    assert.equal(l.frame, 'ok', JSON.stringify(l));
    await ok(['token', 'revoke', w.id8], w.h.env);
    return [
      { event: 'get', outcome: 'ok', via: `token:${w.id8}`, keys: ['ALPHA'], keyed: true },
      { event: 'get', outcome: 'ok', via: 'agent', keys: ['ALPHA'], keyed: true },
      { event: 'list', outcome: 'ok', via: 'agent', keyed: true },
      { event: 'token_revoke', outcome: 'ok', reason: `token:${w.id8}`, keyed: false },
    ];
  },
  lock: async (w) => {
    await ok(['lock'], w.h.env);
    return [
      { event: 'agent_stop', outcome: 'ok', reason: 'stop', via: 'agent', keyed: true },
      { event: 'lock', outcome: 'ok', reason: 'agent_stopped' },
    ];
  },
  agent_stop: async (w) => {
    const idle = await startAgent(w.h, ['--idle', '1s']);
    await waitStopped(w, idle);
    const ttl = await startAgent(w.h, ['--idle', '0', '--ttl', '2s']);
    await waitStopped(w, ttl);
    const sig = await startAgent(w.h);
    process.kill(sig, 'SIGTERM');
    await waitStopped(w, sig);
    // A crash: an exception nobody catches (thrown from a SIGUSR2 handler a preloaded module adds).
    const crash = path.join(path.dirname(w.h.dir), 'crash.mjs');
    fs.writeFileSync(crash, "process.on('SIGUSR2', () => { throw new Error('a crash on purpose'); });\n");
    const fg = await startForeground(w.h, [], ['--import', pathToFileURL(crash).href]);
    process.kill(fg.child.pid!, 'SIGUSR2');
    assert.equal((await fg.exited).code, 1, fg.stderr());
    return [
      { event: 'agent_stop', outcome: 'ok', reason: 'crash', keyed: true },
      { event: 'agent_stop', outcome: 'ok', reason: 'idle', keyed: true },
      { event: 'agent_stop', outcome: 'ok', reason: 'ttl', keyed: true },
      { event: 'agent_stop', outcome: 'ok', reason: 'signal:sigterm', keyed: true },
    ];
  },
};

/** Denial reason → the action that is refused for it (run, while the agent is up, before `token_revoke`) and its record. */
const DENIALS: Record<string, Action> = {
  token: async (w) => {
    const { SESAME_PASSPHRASE_FILE: _p, ...rest } = w.h.env;
    const r = await sesame(['get', 'ALPHA'], { env: { ...rest, SESAME_AGENT_TOKEN: `ses_${'Q'.repeat(43)}` } });
    assert.notEqual(r.code, 0);
    return [{ event: 'get', outcome: 'denied', reason: 'token_unknown', keys: ['ALPHA'], keyed: true }];
  },
  scope: async (w) => {
    const { SESAME_PASSPHRASE_FILE: _p, ...rest } = w.h.env;
    const r = await sesame(['get', 'BETA'], { env: { ...rest, SESAME_AGENT_TOKEN: w.token } });
    assert.notEqual(r.code, 0);
    return [{ event: 'get', outcome: 'denied', reason: 'scope', via: `token:${w.id8}`, keys: ['BETA'], keyed: true }];
  },
  profile: async (w) => {
    // A profile's refusal: a name outside its keys (reason scope), values from a non-revealing one (reveal). Box's budget: 2 a minute, this is its 1st.
    const out = await v2(profileSock(w, 'box'), { op: 'get', project: 'default', key: 'BETA' });
    assert.equal(out.frame, 'error');
    const noReveal = await v2(profileSock(w, 'quiet'), { op: 'get', project: 'default', key: 'ALPHA' });
    assert.equal(noReveal.frame, 'error');
    return [
      { event: 'get', outcome: 'denied', reason: 'scope', via: 'profile:box', keys: ['BETA'], keyed: true },
      { event: 'get', outcome: 'denied', reason: 'reveal', via: 'profile:quiet', keyed: true },
    ];
  },
  rate: async (w) => {
    assert.equal((await v2(profileSock(w, 'box'), { op: 'get', project: 'default', key: 'ALPHA' })).frame, 'ok');
    const r = await v2(profileSock(w, 'box'), { op: 'get', project: 'default', key: 'ALPHA' });
    assert.equal((r.error as { detail?: { reason?: string } } | undefined)?.detail?.reason, 'rate', JSON.stringify(r));
    return [
      { event: 'get', outcome: 'ok', via: 'profile:box', keys: ['ALPHA'], keyed: true },
      { event: 'get', outcome: 'denied', reason: 'rate', via: 'profile:box', keys: ['ALPHA'], keyed: true },
    ];
  },
  peer: (w) => ACTIONS.connect!(w),
};

test('every event in the vocabulary has an action in this test or is marked pending with the branch that adds it', () => {
  const missing = Object.entries(EVENTS)
    .filter(([name, spec]) => spec.pending === undefined && !(name in ACTIONS))
    .map(([n]) => n);
  assert.deepEqual(missing, [], `events without an action here and without a pending mark: ${missing.join(', ')}`);
  const both = Object.entries(EVENTS)
    .filter(([name, spec]) => spec.pending !== undefined && name in ACTIONS)
    .map(([n]) => n);
  assert.deepEqual(both, [], `events marked pending that have an action: remove the mark in events.ts: ${both.join(', ')}`);
  const unknown = Object.keys(ACTIONS).filter((n) => !(n in EVENTS));
  assert.deepEqual(unknown, [], `actions for events not in the vocabulary: ${unknown.join(', ')}`);
});

function matches(r: Rec, w: Want): boolean {
  if (r.event !== w.event || r.outcome !== w.outcome) return false;
  if (w.reason !== undefined && !(typeof w.reason === 'string' ? r.reason === w.reason : w.reason.test(r.reason ?? ''))) return false;
  if (w.via !== undefined && !(typeof w.via === 'string' ? r.via === w.via : w.via.test(r.via))) return false;
  if (w.project !== undefined && r.project !== w.project) return false;
  if (w.keys !== undefined && JSON.stringify(r.keys ?? []) !== JSON.stringify(w.keys)) return false;
  if (w.keyed !== undefined && (r.mac !== null) !== w.keyed) return false;
  return true;
}

test('every event in the vocabulary appears for its action, and every denial reason for its refusal (one home, one verified chain)', async () => {
  const h = await initHome('sesame-audit-events-');
  const w: World = { h, token: '', id8: '' };
  try {
    await setSecret(h, 'ALPHA', ALPHA);
    await setSecret(h, 'BETA', BETA);
    const profiles = path.join(h.dir, 'profiles');
    fs.mkdirSync(profiles, { mode: 0o700 });
    const prof = (name: string, text: string): void => {
      fs.writeFileSync(path.join(profiles, `${name}.toml`), text, { mode: 0o600 });
    };
    prof('box', 'projects = ["default"]\nkeys = ["ALPHA"]\nreveal = true\nrate_limit = "2/min"\n');
    prof('quiet', 'projects = ["default"]\nkeys = ["ALPHA"]\n');
    prof('strict', 'projects = ["default"]\nkeys = ["ALPHA"]\npeer = [1234]\n');
    const wants: Array<[string, Want]> = [];
    const run = async (label: string, a: Action): Promise<void> => {
      const ws = await a(w);
      for (const x of ws) wants.push([label, x]);
    };
    for (const [event, action] of Object.entries(ACTIONS)) {
      if (event === 'token_revoke') for (const [reason, d] of Object.entries(DENIALS)) await run(`denial ${reason}`, d); // the agent is up until lock
      await run(event, action);
    }
    const show = await sesame(['audit', 'show', '--json'], { env: h.env });
    assert.equal(show.code, 0, show.stderr);
    const recs = JSON.parse(show.out) as Rec[];
    const absent = wants.filter(([, x]) => !recs.some((r) => matches(r, x))).map(([label, x]) => `${label}: ${JSON.stringify(x, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v))}`);
    assert.deepEqual(absent, [], `records missing:\n${absent.join('\n')}\n(the log has: ${recs.map((r) => `${r.event}/${r.outcome}/${r.reason ?? ''}/${r.via}`).join(' ')})`);
    // Every event of the log is a row of the vocabulary, and the whole chain verifies.
    const strays = [...new Set(recs.map((r) => r.event))].filter((e) => !(e in EVENTS));
    assert.deepEqual(strays, [], 'events outside the vocabulary');
    const v = await sesame(['audit', 'verify'], { env: h.env });
    assert.equal(v.code, 0, v.stderr + v.out);
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
