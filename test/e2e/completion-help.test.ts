import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initHome, sesame } from '../helpers/cli.js';

test('every command and subcommand in the main help has an example in its --help', async () => {
  const h = await initHome();
  const main = await sesame(['--help'], { env: h.env });
  assert.equal(main.code, 0, main.stderr);
  const block = main.out.split('\ncommands:\n')[1]!.split('\n\n')[0]!;
  const commands: string[][] = [];
  for (const top of new Set(block.split('\n').map((l) => l.trim().split(' ')[0]!))) {
    // A group's --help is `usage: sesame GROUP sub1 | sub2 …`; a command's has its own usage.
    const g = await sesame([top, '--help'], { env: h.env });
    const subs = new RegExp(`^usage: sesame ${top} ((?:[a-z-]+ \\| )+[a-z-]+)\n`).exec(g.out)?.[1];
    if (subs) for (const s of subs.split(' | ')) commands.push([top, s]);
    else commands.push([top]);
  }
  assert.ok(commands.length > 20, `found ${commands.length} commands`);
  const missing: string[] = [];
  for (const words of commands) {
    const r = await sesame([...words, '--help'], { env: h.env });
    assert.equal(r.code, 0, `${words.join(' ')} --help: ${r.stderr}`);
    if (!/\nexamples?:\n {2}\S*.*sesame /.test(r.out)) missing.push(words.join(' '));
  }
  assert.deepEqual(missing, [], 'commands whose --help has no example');
  h.cleanup();
});

test('the help footer names the installed docs and `sesame help TOPIC`, never a repo-relative path, and every topic it lists opens', async () => {
  const h = await initHome();
  const main = await sesame(['--help'], { env: h.env });
  assert.doesNotMatch(main.out, /^docs: docs\//m);
  const docs = /^docs: (.+)$/m.exec(main.out)?.[1];
  assert.ok(docs && path.isAbsolute(docs) && fs.existsSync(path.join(docs, 'shells.md')), `docs: ${docs}`);
  const topics = /sesame help TOPIC \(([^)]+)\)/.exec(main.out)?.[1]?.split(', ') ?? [];
  assert.ok(topics.includes('shells') && topics.includes('cli'), topics.join(','));
  for (const t of ['approvals', 'mcp', 'redaction', 'api', 'threat-model', 'spec/agent-protocol', 'spec/vault-format']) assert.ok(topics.includes(t), `topic ${t} is listed: ${topics.join(',')}`);
  for (const t of topics) {
    const r = await sesame(['help', t], { env: h.env });
    assert.equal(r.code, 0, `${t}: ${r.stderr}`);
    assert.ok(r.out.length > 0);
  }
  const bad = await sesame(['help', 'no-such-topic'], { env: h.env });
  assert.equal(bad.code, 2, 'a usage error');
  assert.match(bad.stderr, /topics: /);
  h.cleanup();
});
