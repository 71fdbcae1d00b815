/**
 * The audit vocabulary, table-driven (issue 12, "every event listed appears for its action"):
 * for every row of src/core/audit/events.ts EVENTS, the action that produces it, run against
 * the built CLI and a real agent in one home; then the record it must leave. A row with
 * neither an action here nor a `pending` mark fails; so does a pending row that has an action
 * (remove the mark). Denials are a second table: each reason, its action, its record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EVENTS } from '../../src/core/audit/events.js';
import { argvHash } from '../../src/core/audit/record.js';
import { PASSPHRASE, initHome, requireTool, sesame, setSecret, type TestHome } from '../helpers/cli.js';
import { alive, ask, exchange, sleep, startAgent, startForeground, stopAgent, waitFor, type Reply } from '../helpers/agent.js';
import { approveOnTty, pendingList, readAs, tokenEnv, waitPending } from '../helpers/approval.js';
import { once } from '../helpers/exec-frames.js';
import { auditRecords } from '../helpers/audit.js';

interface Rec {
  seq: number;
  event: string;
  outcome: string;
  reason?: string;
  via: string;
  project?: string;
  keys?: string[];
  request?: string;
  argv_hash?: string;
  command?: string;
  masked?: Record<string, number>;
  client_via?: string;
  client_declared?: string;
  mac: string | null;
}

/** What a record must look like (every given field equal; `reason` may be a RegExp). */
type Want = {
  event: string;
  outcome: string;
  reason?: string | RegExp;
  via?: string | RegExp;
  project?: string;
  keys?: string[];
  keyed?: boolean;
  /** Every one of these names is among the record's keys. */
  keysInclude?: string[];
  argvHash?: string;
  command?: string;
  /** The record's `masked` counts at least one hit for this key name. */
  maskedHit?: string;
  /** `client_declared` (with `client_via` mcp); null: the record carries no declared client. */
  client?: string | null;
};

interface World {
  h: TestHome;
  /** The token minted by `token_mint` (keys ALPHA*), its id. */
  token: string;
  id8: string;
  /** A token for the approval rows (any key), its id. */
  apvToken: string;
  apvId8: string;
}

type Action = (w: World) => Promise<Want[]>;

const ALPHA = 'alpha-event-table-value-5c2e9';
const BETA = 'beta-event-table-value-0d7a1';
/** Values the rows below store or inject; the log must hold none of them (nor the tokens, the passphrase, argv). */
const HIST_ONE = 'hist-one-event-table-value-3a';
const HIST_TWO = 'hist-two-event-table-value-4b';
const MOVED = 'moved-event-table-value-8c';
const HV_EV = 'hv-event-table-value-2f6e';
const CELL_TOKEN = 'cell-token-event-table-Jq4w';
const ARGV_MARK = 'argv-marker-event-table-6f1d';
const SH = fs.realpathSync('/bin/sh');
const noPass = (w: World): NodeJS.ProcessEnv => ({ ...w.h.env, SESAME_PASSPHRASE_FILE: '' });
const cellSock = (w: World): string => path.join(w.h.dir, 'cells.sock');
const auditText = (w: World): string =>
  fs
    .readdirSync(w.h.dir)
    .filter((f) => f.startsWith('audit.jsonl'))
    .map((f) => fs.readFileSync(path.join(w.h.dir, f), 'utf8'))
    .join('');
/** An approval read left waiting by `approval_request`, answered by `approval_deny`. */
let waiting: Promise<{ code: number | null }> | undefined;
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
    // A declared client (what `sesame mcp` sends): a label beside via, which stays the token's.
    const st = await v2(ownerSock(w), { op: 'status' });
    assert.ok(((st.status as { features?: string[] }).features ?? []).includes('client'), JSON.stringify(st));
    const mcp = await v2(ownerSock(w), { op: 'get', project: 'default', key: 'ALPHA', token: w.token, client: { via: 'mcp', name: 'event-table-client', version: '1.2.3' } });
    assert.equal(mcp.frame, 'ok', JSON.stringify(mcp));
    const odd = { via: 'mcp', name: 'Odd "Client" <x>', version: 'v 9' };
    assert.equal((await v2(ownerSock(w), { op: 'list', project: 'default', token: w.token, client: odd })).frame, 'ok');
    const hashed = `h:${createHash('sha256').update(`${odd.name}\0${odd.version}`).digest('hex').slice(0, 16)}`;
    const bad = await v2(ownerSock(w), { op: 'get', project: 'default', key: 'ALPHA', token: w.token, client: { via: 'web', name: 'x', version: '1' } });
    assert.equal((bad.error as { detail?: { reason?: string } } | undefined)?.detail?.reason, 'bad_args', JSON.stringify(bad));
    await ok(['token', 'revoke', w.id8], w.h.env);
    return [
      { event: 'get', outcome: 'ok', via: `token:${w.id8}`, keys: ['ALPHA'], keyed: true, client: 'event-table-client 1.2.3' },
      { event: 'list', outcome: 'ok', via: `token:${w.id8}`, keyed: true, client: hashed },
      { event: 'get', outcome: 'ok', via: `token:${w.id8}`, keys: ['ALPHA'], keyed: true, client: null },
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
  // History writes: direct (via cli) here; `project_rename` then runs them all again through `agent start --writes`.
  rollback: async (w) => {
    await setSecret(w.h, 'HIST', HIST_ONE);
    await setSecret(w.h, 'HIST', HIST_TWO);
    await ok(['rollback', 'HIST'], w.h.env);
    return [{ event: 'rollback', outcome: 'ok', reason: 'rolled_back', via: 'cli', project: 'default', keys: ['HIST'], keyed: true }];
  },
  restore: async (w) => {
    await ok(['rm', 'HIST'], w.h.env);
    await ok(['restore', 'HIST'], w.h.env);
    return [{ event: 'restore', outcome: 'ok', reason: 'restored', via: 'cli', keys: ['HIST'], keyed: true }];
  },
  purge: async (w) => {
    await ok(['rm', 'HIST'], w.h.env);
    await ok(['purge', 'HIST'], w.h.env);
    return [{ event: 'purge', outcome: 'ok', reason: 'purged', via: 'cli', keys: ['HIST'], keyed: true }];
  },
  mv: async (w) => {
    await setSecret(w.h, 'MV_A', MOVED);
    await ok(['mv', 'MV_A', 'MV_B'], w.h.env);
    return [{ event: 'mv', outcome: 'ok', via: 'cli', keys: ['MV_A', 'MV_B'], keyed: true }];
  },
  cp: async (w) => {
    await ok(['projects', 'create', 'work'], w.h.env);
    await ok(['cp', 'MV_B', '--to-project', 'work'], w.h.env);
    return [{ event: 'cp', outcome: 'ok', via: 'cli', project: 'default', keysInclude: ['MV_B'], keyed: true }];
  },
  project_rename: async (w) => {
    await ok(['projects', 'rename', 'work', 'job'], w.h.env);
    // The same writes through an agent started with --writes: recorded by the agent, keyed.
    await startAgent(w.h, ['--writes']);
    const env = noPass(w);
    await ok(['set', 'HIST2'], env, HIST_ONE);
    await ok(['set', 'HIST2'], env, HIST_TWO);
    await ok(['rollback', 'HIST2'], env);
    await ok(['rm', 'HIST2'], env);
    await ok(['restore', 'HIST2'], env);
    await ok(['rm', 'HIST2'], env);
    await ok(['purge', 'HIST2'], env);
    await ok(['mv', 'MV_B', 'MV_C'], env);
    await ok(['cp', 'MV_C', '--to-project', 'job'], env);
    await ok(['projects', 'rename', 'job', 'work'], env);
    await stopAgent(w.h);
    const agent = { via: 'agent', keyed: true } as const;
    return [
      { event: 'project_rename', outcome: 'ok', reason: 'renamed', via: 'cli', project: 'work', keyed: true },
      { event: 'set', outcome: 'ok', reason: 'updated', keys: ['HIST2'], ...agent },
      { event: 'rollback', outcome: 'ok', reason: 'rolled_back', keys: ['HIST2'], ...agent },
      { event: 'rm', outcome: 'ok', keys: ['HIST2'], ...agent },
      { event: 'restore', outcome: 'ok', reason: 'restored', keys: ['HIST2'], ...agent },
      { event: 'purge', outcome: 'ok', reason: 'purged', keys: ['HIST2'], ...agent },
      { event: 'mv', outcome: 'ok', keys: ['MV_B', 'MV_C'], ...agent },
      { event: 'cp', outcome: 'ok', keysInclude: ['MV_C'], ...agent },
      { event: 'project_rename', outcome: 'ok', reason: 'renamed', project: 'job', ...agent },
    ];
  },
  backup_restore: async (w) => {
    // Direct only: a restore replaces the vault file, which no agent op does (a running agent must be restarted).
    const bak = path.join(path.dirname(w.h.dir), 'event-table-backup.json');
    await ok(['backup', bak], w.h.env);
    await ok(['backup', 'restore', bak], w.h.env);
    return [{ event: 'backup_restore', outcome: 'ok', via: 'cli', keyed: false }];
  },
  // One agent for exec, check, fd, evict, approvals and cells (profile runner, cells.toml, a 2 s approval timeout, a 1 s eviction).
  exec: async (w) => {
    fs.writeFileSync(path.join(w.h.dir, 'profiles', 'runner.toml'), 'projects = ["default"]\nkeys = ["ALPHA", "BETA"]\ncommands = ["/bin/sh"]\n', { mode: 0o600 });
    fs.writeFileSync(path.join(w.h.dir, 'config.toml'), 'approval_timeout = "2s"\n', { mode: 0o600 });
    fs.writeFileSync(path.join(w.h.dir, 'cells.toml'), '[[cell]]\nid = "build-*"\nprojects = ["default"]\nkeys = ["ALPHA"]\n', { mode: 0o600 });
    await setSecret(w.h, 'HV', HV_EV, ['--high-value']);
    const t = await sesame(['token', 'new'], { env: w.h.env });
    assert.equal(t.code, 0, t.stderr);
    w.apvToken = t.out.trim();
    w.apvId8 = /token ([0-9a-f]{8}) made/.exec(t.stderr)?.[1] ?? '';
    await startAgent(w.h, ['--cells', '--evict-after', '1s']);
    const argv = ['sh', '-c', 'printf "%s\\n" "$ALPHA"', ARGV_MARK];
    const r = await once(profileSock(w, 'runner'), { v: 2, id: nextId++, op: 'exec', project: 'default', argv, cwd: '/' });
    assert.equal(r.last.frame, 'exit', JSON.stringify(r.last));
    assert.equal(r.last.code, 0);
    assert.ok(r.out.toString().includes('<sesame:ALPHA>') && !r.out.toString().includes(ALPHA), r.out.toString());
    return [
      { event: 'exec', outcome: 'ok', via: 'profile:runner', project: 'default', keysInclude: ['ALPHA'], argvHash: argvHash(argv), command: SH, keyed: true },
      { event: 'exec_exit', outcome: 'ok', reason: 'exit:0', via: 'profile:runner', argvHash: argvHash(argv), maskedHit: 'ALPHA', keyed: true },
    ];
  },
  exec_exit: async (w) => {
    const argv = ['sh', '-c', 'printf %s "$ALPHA"; exit 3', ARGV_MARK];
    const r = await once(profileSock(w, 'runner'), { v: 2, id: nextId++, op: 'exec', project: 'default', argv, cwd: '/' });
    assert.equal(r.last.code, 3, JSON.stringify(r.last));
    assert.ok(((r.last.masked as Record<string, number>).ALPHA ?? 0) >= 1, JSON.stringify(r.last));
    return [{ event: 'exec_exit', outcome: 'ok', reason: 'exit:3', via: 'profile:runner', argvHash: argvHash(argv), command: SH, maskedHit: 'ALPHA', keysInclude: ['ALPHA'], keyed: true }];
  },
  check: async (w) => {
    // `check` reads no value and records nothing: no record carries its request id.
    const id = 990_001;
    const r = await once(profileSock(w, 'runner'), { v: 2, id, op: 'check', what: 'exec', project: 'default', argv: ['sh', '-c', 'true'] });
    assert.equal(r.last.frame, 'ok', JSON.stringify(r.last));
    await sleep(300);
    const recs = auditText(w)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Rec);
    assert.deepEqual(
      recs.filter((x) => x.request === String(id)),
      [],
      'check left a record',
    );
    return [];
  },
  fd: async (w) => {
    await ok(['run', '--fd', 'ALPHA', '--', 'sh', '-c', 'test -n "$(cat /proc/self/fd/$ALPHA_FD)"'], noPass(w));
    return [{ event: 'fd', outcome: 'ok', reason: /^(secret|sealed)$/, via: 'agent', project: 'default', keys: ['ALPHA'], keyed: true }];
  },
  evict: async (w) => {
    await waitFor('an evict record', () => auditText(w).includes('"event":"evict"'), 8000);
    return [{ event: 'evict', outcome: 'ok', reason: 'idle', via: 'agent', project: 'default', keyed: true }];
  },
  approval_request: async (w) => {
    waiting = readAs(tokenEnv(w.h, w.apvToken));
    await waitPending(w.h);
    return [{ event: 'approval_request', outcome: 'ok', via: `token:${w.apvId8}`, keys: ['HV'], keyed: true }];
  },
  approval_deny: async (w) => {
    const [p] = await pendingList(w.h);
    await ok(['approve', p!.id, '--deny'], w.h.env);
    assert.equal((await waiting!).code, 8);
    return [{ event: 'approval_deny', outcome: 'denied', reason: 'approval_denied', via: `token:${w.apvId8}`, keys: ['HV'], keyed: true }];
  },
  approval_expire: async (w) => {
    const r = await readAs(tokenEnv(w.h, w.apvToken));
    assert.equal(r.code, 8, r.stderr);
    return [{ event: 'approval_expire', outcome: 'denied', reason: 'approval_timeout', via: `token:${w.apvId8}`, keys: ['HV'], keyed: true }];
  },
  approval_withdrawn: async (w) => {
    // A client that leaves while its read waits: the request is withdrawn.
    const frames = await exchange(ownerSock(w), [`${JSON.stringify({ v: 2, id: nextId++, op: 'get', project: 'default', key: 'HV', token: w.apvToken })}\n`], 1);
    assert.equal(frames[0]?.frame, 'pending', JSON.stringify(frames));
    await waitFor('the withdrawal', () => auditText(w).includes('"event":"approval_withdrawn"'), 5000);
    return [{ event: 'approval_withdrawn', outcome: 'denied', reason: 'cancelled', via: `token:${w.apvId8}`, keys: ['HV'], keyed: true }];
  },
  approval_grant: async (w) => {
    const read = readAs(tokenEnv(w.h, w.apvToken));
    const [p] = await waitPending(w.h);
    const a = await approveOnTty(w.h, [p!.id, '--session']);
    assert.equal(a.status, 0, a.output);
    assert.equal((await read).code, 0);
    return [
      { event: 'approval_grant', outcome: 'ok', via: `token:${w.apvId8}`, keys: ['HV'], keyed: true },
      { event: 'get', outcome: 'ok', via: `token:${w.apvId8}`, keys: ['HV'], keyed: true },
    ];
  },
  grant_revoke: async (w) => {
    const g = await ok(['approve', '--list-grants'], w.h.env);
    const grant = /grant ([0-9a-f]{8})/.exec(g)?.[1];
    assert.ok(grant, g);
    await ok(['approve', '--revoke', grant], w.h.env);
    return [{ event: 'grant_revoke', outcome: 'ok', via: `token:${w.apvId8}`, keys: ['HV'], keyed: true }];
  },
  cell_register: async (w) => {
    const r = await ask(cellSock(w), { v: 2, id: nextId++, op: 'resolve', cell_id: 'build-ev', key: 'ALPHA', token: CELL_TOKEN });
    assert.equal(r.frame, 'ok', JSON.stringify(r));
    return [
      { event: 'cell_register', outcome: 'ok', via: 'cell:build-ev', keyed: true },
      { event: 'get', outcome: 'ok', via: 'cell:build-ev', keys: ['ALPHA'], keyed: true },
    ];
  },
  cell_resolve: async (w) => {
    const r = await ask(cellSock(w), { v: 2, id: nextId++, op: 'resolve', cell_id: 'build-ev', key: 'ALPHA', token: `${CELL_TOKEN}-wrong` });
    assert.equal((r.error as { detail?: { reason?: string } } | undefined)?.detail?.reason, 'cell_token', JSON.stringify(r));
    return [{ event: 'cell_resolve', outcome: 'denied', reason: 'cell_token', via: 'cell:build-ev', keys: ['ALPHA'], keyed: true }];
  },
  cell_revoke: async (w) => {
    await ok(['cell', 'revoke', 'build-ev'], w.h.env);
    return [{ event: 'cell_revoke', outcome: 'ok', via: 'cell:build-ev', keyed: true }];
  },
  cell_forget: async (w) => {
    await ok(['cell', 'forget', 'build-ev'], w.h.env);
    await stopAgent(w.h);
    return [{ event: 'cell_forget', outcome: 'ok', via: 'cell:build-ev', keyed: true }];
  },
};

/** Actions that must leave NO record (they read no value): run in order with the rest, their own assertion inside. */
const SILENT: ReadonlySet<string> = new Set(['check']);

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
  const unknown = Object.keys(ACTIONS).filter((n) => !(n in EVENTS) && !SILENT.has(n));
  assert.deepEqual(unknown, [], `actions for events not in the vocabulary: ${unknown.join(', ')}`);
});

function matches(r: Rec, w: Want): boolean {
  if (r.event !== w.event || r.outcome !== w.outcome) return false;
  if (w.reason !== undefined && !(typeof w.reason === 'string' ? r.reason === w.reason : w.reason.test(r.reason ?? ''))) return false;
  if (w.via !== undefined && !(typeof w.via === 'string' ? r.via === w.via : w.via.test(r.via))) return false;
  if (w.project !== undefined && r.project !== w.project) return false;
  if (w.keys !== undefined && JSON.stringify(r.keys ?? []) !== JSON.stringify(w.keys)) return false;
  if (w.keyed !== undefined && (r.mac !== null) !== w.keyed) return false;
  if (w.keysInclude !== undefined && !w.keysInclude.every((k) => (r.keys ?? []).includes(k))) return false;
  if (w.argvHash !== undefined && r.argv_hash !== w.argvHash) return false;
  if (w.command !== undefined && r.command !== w.command) return false;
  if (w.maskedHit !== undefined && !((r.masked ?? {})[w.maskedHit]! >= 1)) return false;
  if (w.client === null && (r.client_via !== undefined || r.client_declared !== undefined)) return false;
  if (typeof w.client === 'string' && (r.client_via !== 'mcp' || r.client_declared !== w.client)) return false;
  return true;
}

test('every event in the vocabulary appears for its action, and every denial reason for its refusal (one home, one verified chain)', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return; // approve's passphrase prompt needs a real terminal (test/helpers/pty-drive.py)
  const h = await initHome('sesame-audit-events-');
  const w: World = { h, token: '', id8: '', apvToken: '', apvId8: '' };
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
    const recs = await auditRecords<Rec>(h);
    const absent = wants.filter(([, x]) => !recs.some((r) => matches(r, x))).map(([label, x]) => `${label}: ${JSON.stringify(x, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v))}`);
    assert.deepEqual(absent, [], `records missing:\n${absent.join('\n')}\n(the log has: ${recs.map((r) => `${r.event}/${r.outcome}/${r.reason ?? ''}/${r.via}`).join(' ')})`);
    // Every event of the log is a row of the vocabulary, and the whole chain verifies.
    const strays = [...new Set(recs.map((r) => r.event))].filter((e) => !(e in EVENTS));
    assert.deepEqual(strays, [], 'events outside the vocabulary');
    const v = await sesame(['audit', 'verify'], { env: h.env });
    assert.equal(v.code, 0, v.stderr + v.out);
    // No record holds a value, a token, the passphrase or an exec's argv (every file of the chain).
    const text = auditText(w);
    const used = [ALPHA, BETA, HIST_ONE, HIST_TWO, MOVED, HV_EV, CELL_TOKEN, ARGV_MARK, PASSPHRASE, w.token, w.apvToken, 'gamma-event-table-value-e81f', 'imported-event-table-value-77'];
    const found = used.filter((x) => x && (text.includes(x) || text.includes(Buffer.from(x).toString('base64'))));
    assert.deepEqual(found, [], 'values found in the audit log');
  } finally {
    await stopAgent(h);
    h.cleanup();
  }
});
