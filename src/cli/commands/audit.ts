/**
 * `sesame audit show | verify | head`: read, check and anchor the audit log
 * (docs/spec/audit-log.md). `verify` unlocks (the MACs need the vault's audit subkey);
 * `show` and `head` read the files alone.
 */
import { SesameError } from '../../core/errors.js';
import type { Command, Group } from '../command.js';
import { parseDuration, usage } from '../args.js';
import { info, json as outJson, out, warn } from '../output.js';
import type { AuditRecord } from '../../core/audit/record.js';

/** An ISO date/time, or a duration before now (`2h`, `7d`). */
function parseTime(s: string, flag: string): number {
  if (/^\d+(ms|s|m|h|d)$/.test(s)) return Date.now() - parseDuration(s, flag);
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw usage(`${flag} takes an ISO date or time (2026-11-30, 2026-11-30T12:00:00Z) or a duration ago (2h, 7d)`);
  return t;
}

const show: Command = {
  usage: 'audit show [--since T] [--until T] [--event E] [--key K] [--via V] [--json]\n\nexample:\n  sesame audit show --key DATABASE_URL --json',
  summary: 'show audit records (names and outcomes; the log never holds a value)',
  flags: {
    since: { type: 'string', arg: 'T', help: 'records at or after T (ISO time, or a duration ago: 2h, 7d)' },
    until: { type: 'string', arg: 'T', help: 'records before T' },
    event: { type: 'string', arg: 'E', help: 'only this event (set, rm, import, init, unlock, lock, passphrase, get, …)' },
    key: { type: 'string', arg: 'K', help: 'only records naming key K' },
    via: { type: 'string', arg: 'V', help: 'only records made through V (cli, agent, mcp, token:ID8, profile:NAME, cell:ID)' },
  },
  async run(ctx, { flags }) {
    const since = flags.since === undefined ? -Infinity : parseTime(flags.since as string, '--since');
    const until = flags.until === undefined ? Infinity : parseTime(flags.until as string, '--until');
    const { auditFiles } = await import('../../core/audit/log.js');
    const { readRecords } = await import('../../core/audit/verify.js');
    const { records, unreadable } = readRecords(auditFiles(ctx.paths.home));
    const keep = records.filter((r) => {
      const t = Date.parse(r.time);
      return (
        t >= since &&
        t < until &&
        (flags.event === undefined || r.event === flags.event) &&
        (flags.via === undefined || r.via === flags.via) &&
        (flags.key === undefined || (r.keys ?? []).includes(flags.key as string))
      );
    });
    if (unreadable) warn(`${unreadable} line${unreadable === 1 ? ' is' : 's are'} not readable records; run \`sesame audit verify\``);
    if (ctx.json) outJson(keep);
    else out(keep.map(fmt).join(''));
    return 0;
  },
};

function fmt(r: AuditRecord): string {
  const cols = [r.time, `#${r.seq}`, r.event, r.outcome, r.via];
  if (r.project !== undefined) cols.push(`project=${r.project}`);
  if (r.keys?.length) cols.push(`keys=${r.keys.join(',')}`);
  if (r.reason !== undefined) cols.push(`reason=${r.reason}`);
  if (r.peer) cols.push(`pid=${r.peer.pid ?? '?'}`);
  if (r.request !== undefined) cols.push(`request=${r.request}`);
  cols.push(r.mac ? 'keyed' : 'unkeyed');
  return `${cols.join('  ')}\n`;
}

const verify: Command = {
  usage: 'audit verify [--expect-head SEQ:HASH]\n\nexample:\n  sesame audit verify',
  summary: 'check the whole audit chain (unlocks: the MACs need the vault key); exit 0 only when it is intact',
  flags: { 'expect-head': { type: 'string', arg: 'SEQ:HASH', help: 'the head anchored earlier (`audit head`): catches a cut-off tail' } },
  async run(ctx, { flags }) {
    const { auditFiles, AuditKey } = await import('../../core/audit/log.js');
    const { verifyChain, parseHead, formatHead } = await import('../../core/audit/verify.js');
    const expect = flags['expect-head'] === undefined ? undefined : parseHead(flags['expect-head'] as string);
    const files = auditFiles(ctx.paths.home);
    const { unlockDirect } = await import('../direct-unlock.js');
    const v = await unlockDirect(ctx);
    const key = AuditKey.fromMaster(v.master);
    v.dispose();
    let r;
    try {
      r = verifyChain(files, key, expect);
    } finally {
      key.dispose();
    }
    if (ctx.json) {
      outJson({
        ok: r.ok,
        records: r.records,
        files: r.files,
        head: r.head ? formatHead(r.head) : null,
        mac_checked: r.macChecked,
        earlier_key: r.earlierKey,
        bad: r.bad ?? null,
        warnings: r.warnings,
      });
    } else {
      for (const w of r.warnings) warn(w);
      if (r.bad) info(`audit log NOT intact: ${r.bad.file} line ${r.bad.line}${r.bad.seq !== null ? ` (seq ${r.bad.seq})` : ''}: ${r.bad.kind}: ${r.bad.why}`);
      else
        info(
          `audit log intact: ${r.records} record${r.records === 1 ? '' : 's'} in ${r.files} file${r.files === 1 ? '' : 's'}, ${r.macChecked} MAC${r.macChecked === 1 ? '' : 's'} verified${r.earlierKey ? `, ${r.earlierKey} under an earlier vault key (covered by the chain)` : ''}; head ${r.head ? formatHead(r.head) : '(empty)'}`,
        );
    }
    if (r.records === 0 && !r.bad && expect) throw new SesameError('INTEGRITY', 'the audit log is empty but a head was expected');
    return r.ok ? 0 : 1;
  },
};

const head: Command = {
  usage: 'audit head\n\nexample:\n  sesame audit head',
  summary: "print the last record's SEQ:HASH, to anchor elsewhere (a commit, a ticket) and check later with verify --expect-head",
  flags: {},
  async run(ctx) {
    const { auditFiles } = await import('../../core/audit/log.js');
    const { chainHead, formatHead } = await import('../../core/audit/verify.js');
    const h = chainHead(auditFiles(ctx.paths.home));
    if (!h) throw new SesameError('NOT_FOUND', `the audit log at ${ctx.paths.home} is empty`);
    if (ctx.json) outJson({ head: formatHead(h), seq: h.seq, hash: h.hash });
    else out(`${formatHead(h)}\n`);
    return 0;
  },
};

const group: Group = {
  summary: 'the tamper-evident audit log: show, verify, head',
  subcommands: { show, verify, head },
};
export default group;
