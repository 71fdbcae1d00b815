/**
 * The one argv grammar (src/cli/args.ts over src/cli/globals.ts): the full CLI and the
 * executable's agent fast paths read a command line the same way; a global option declared
 * once is understood everywhere; nothing after `--` is an option; durations are exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { GLOBAL_FLAGS, MAX_DURATION_MS, parseArgs, parseDuration, splitCommand } from '../../src/cli/args.js';
import { fastGetArgs } from '../../src/cli/get-fast-path.js';
import { fastRunArgs } from '../../src/cli/run-fast-path.js';
import { SesameError } from '../../src/core/errors.js';

/** What main.ts does with `get`'s command line: its words, then globals + get's flags. */
function fullGet(argv: string[]): { project: unknown; key: string | undefined } {
  const { name, rest } = splitCommand(argv);
  assert.equal(name, 'get');
  const p = parseArgs(rest, { ...GLOBAL_FLAGS }, { maxPositionals: 1 });
  return { project: p.flags.project, key: p.positionals[0] };
}

const usageError = (re: RegExp) => (e: unknown) => e instanceof SesameError && e.code === 'USAGE' && re.test(e.message);

test('-p before, after and inside get means the same project to main and to the fast path', () => {
  for (const argv of [
    ['-p', 'P', 'get', 'K'],
    ['get', 'K', '-p', 'P'],
    ['get', '-p', 'P', 'K'],
    ['--project=P', 'get', 'K'],
    ['get', '--project', 'P', 'K'],
    ['-pP', 'get', 'K'],
  ]) {
    assert.deepEqual(fullGet(argv), { project: 'P', key: 'K' }, argv.join(' '));
    assert.deepEqual(fastGetArgs(argv, {}), { home: undefined, project: 'P', key: 'K' }, argv.join(' '));
  }
  assert.deepEqual(fastGetArgs(['--home', '/h', 'get', 'K'], {}), { home: '/h', project: undefined, key: 'K' });
});

test('the get fast path leaves everything but the plain form to the full CLI', () => {
  for (const argv of [
    ['get', 'K', '--json'],
    ['--no-agent', 'get', 'K'],
    ['get', 'K', '-h'],
    ['get', 'K', 'L'],
    ['get', '--', 'K'],
    ['get'],
    ['get', 'K', '-p'],
    ['get', '--bogus', 'K'],
    ['--bogus', 'get', 'K'],
    ['get', 'bad name'],
    ['run', '--', 'get', 'K'],
  ]) {
    assert.equal(fastGetArgs(argv, {}), null, argv.join(' '));
  }
  assert.equal(fastGetArgs(['get', 'K'], { SESAME_NO_AGENT: '1' }), null);
});

test('nothing after -- is read as an option or a command word', () => {
  const tail = ['cmd', '-p', 'x', '--home', 'y', '--json', '--', 'get', 'K'];
  assert.deepEqual(fastRunArgs(['run', '--', ...tail], {}), { home: undefined, project: undefined, flags: {}, argv: tail });
  assert.deepEqual(fastRunArgs(['-p', 'P', 'run', '--only', 'A', '--', ...tail], {})?.argv, tail);
  assert.equal(fastRunArgs(['run', '--', ...tail], {})?.project, undefined);
  assert.deepEqual(splitCommand(['--', 'get', 'K']), { name: undefined, rest: ['--', 'get', 'K'] });
  assert.deepEqual(splitCommand(['run', '--', 'get', 'K']).name, 'run');
  assert.deepEqual(parseArgs(['--', '-p', 'x'], GLOBAL_FLAGS).rest, ['-p', 'x']);
  // `run CMD -p x` without `--`: everything from the command on is the command's.
  assert.deepEqual(fastRunArgs(['run', 'cmd', '-p', 'x'], {})?.argv, ['cmd', '-p', 'x']);
});

test('before the command word only global options are accepted, and their values are never the command', () => {
  assert.deepEqual(splitCommand(['--home', 'get', 'list']), { name: 'list', rest: ['--home', 'get'] });
  assert.throws(() => splitCommand(['--ttl', '8h', 'agent', 'start']), usageError(/unknown option --ttl/));
  assert.throws(() => splitCommand(['-p']), usageError(/-p needs a value/));
  assert.throws(() => parseArgs(['--constructor'], GLOBAL_FLAGS), usageError(/unknown option --constructor/));
  assert.throws(() => parseArgs(['--json=1'], GLOBAL_FLAGS), usageError(/takes no value/));
});

test('a global option declared once in globals.ts is understood by every parser and listed in help', () => {
  const argv = ['--profile', 'ci', 'get', 'K'];
  assert.throws(() => splitCommand(argv), usageError(/unknown option --profile/));
  GLOBAL_FLAGS.profile = { type: 'string', arg: 'NAME', help: 'a test-only global option' };
  try {
    assert.equal(splitCommand(argv).name, 'get');
    assert.equal(splitCommand(['get', '--profile=ci', 'K']).name, 'get');
    // The fast paths parse it with the same grammar and, not honouring it, leave it to main.
    assert.equal(fastGetArgs(argv, {}), null);
    assert.equal(fastRunArgs(['--profile', 'ci', 'run', '--', 'cmd'], {}), null);
  } finally {
    delete GLOBAL_FLAGS.profile;
  }
  // main.ts, in its own process (it writes to fd 1): the same one-line declaration.
  const args = new URL('../../src/cli/args.js', import.meta.url).href;
  const mainJs = new URL('../../src/cli/main.js', import.meta.url).href;
  const script = `import { GLOBAL_FLAGS } from ${JSON.stringify(args)};
GLOBAL_FLAGS.profile = { type: 'string', arg: 'NAME', help: 'a test-only global option' };
const { main } = await import(${JSON.stringify(mainJs)});
const a = await main(['--profile', 'ci', 'get', 'K', '--help'], {});
const b = await main(['-p', 'P', '--profile=ci', 'help'], {});
process.exitCode = a + b;`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^usage: sesame get KEY/);
  assert.match(r.stdout, /--profile NAME\s+a test-only global option/);
});

test('durations are exact whole milliseconds', () => {
  const cases: Array<[string, number]> = [
    ['0', 0],
    ['90', 90_000],
    ['500ms', 500],
    ['0.5s', 500],
    ['1.5h', 5_400_000],
    ['15m', 900_000],
    ['8h', 28_800_000],
    ['365d', MAX_DURATION_MS],
    ['0.001s', 1],
    [' 8h ', 28_800_000],
  ];
  for (const [s, ms] of cases) assert.equal(parseDuration(s, 'ttl'), ms, s);
});

test('refuses a duration above the limit, quoting the user and the limit, never another number', () => {
  for (const s of ['99999999999999d', '366d', '31536000001ms', '9'.repeat(40)]) {
    assert.throws(
      () => parseDuration(s, 'ttl'),
      (e: unknown) => {
        assert.ok(e instanceof SesameError && e.code === 'USAGE');
        assert.ok(e.message.includes(JSON.stringify(s)), e.message);
        assert.match(e.message, /limit of 365d/);
        const numbers = (e.message.replace(JSON.stringify(s), '').match(/\d+/g) ?? []).filter((n) => n !== '365');
        assert.deepEqual(numbers, [], `${e.message} prints a number the user never typed`);
        return true;
      },
    );
  }
});

test('refuses negative, signed, exponent, non-integer-millisecond and malformed durations', () => {
  const refused: Array<[string, RegExp]> = [
    ['-5s', /negative/],
    [' -1', /negative/],
    ['+5s', /invalid duration/],
    ['1e3', /invalid duration/],
    ['1.5ms', /whole number of milliseconds/],
    ['0.0001s', /whole number of milliseconds/],
    ['Infinity', /invalid duration/],
    ['NaN', /invalid duration/],
    ['0x10', /invalid duration/],
    ['5 s', /invalid duration/],
    ['5sec', /invalid duration/],
    ['', /invalid duration/],
    ['.5s', /invalid duration/],
    ['1'.repeat(41), /invalid duration/],
  ];
  for (const [s, re] of refused) assert.throws(() => parseDuration(s, 'idle'), usageError(re), JSON.stringify(s));
});
