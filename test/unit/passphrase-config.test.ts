import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { SesameError } from '../../src/core/errors.js';
import { DEFAULT_COMMAND_TIMEOUT_MS, loadConfig, parseConfig, splitCommand } from '../../src/core/config.js';
import { chainHome, writeConfig } from '../helpers/chain.js';

const code = (c: string) => (e: unknown) => e instanceof SesameError && e.code === c;

test('a missing config file means no passphrase_command and the 30 s default timeout', () => {
  const h = chainHome();
  assert.deepEqual(loadConfig(h.paths), {
    passphraseCommand: undefined,
    passphraseCommandTimeoutMs: DEFAULT_COMMAND_TIMEOUT_MS,
    history: 10,
    approveOwner: false,
    approvalTimeoutMs: undefined,
    approvalMaxMs: undefined,
  });
  assert.equal(DEFAULT_COMMAND_TIMEOUT_MS, 30_000);
  h.cleanup();
});

test('passphrase_command accepts an array of arguments as given', () => {
  const c = parseConfig('passphrase_command = ["pass", "show", "my vault"]\n', 'cfg');
  assert.deepEqual(c.passphraseCommand, ['pass', 'show', 'my vault']);
});

test('a string passphrase_command is split like sh words but without a shell', () => {
  assert.deepEqual(splitCommand(`pass show 'my vault' "a \\"b\\"" c\\ d`), ['pass', 'show', 'my vault', 'a "b"', 'c d']);
  assert.deepEqual(splitCommand('  op   read  op://v/i/pw  '), ['op', 'read', 'op://v/i/pw']);
  assert.deepEqual(splitCommand("echo '$HOME|x'"), ['echo', '$HOME|x'], 'single quotes keep shell characters literally');
});

test('shell syntax in a string passphrase_command is refused, not passed on literally', () => {
  for (const bad of ['pass show x | head -1', 'cat f > g', 'echo $SECRET', 'a && b', 'echo `id`', 'ls *', '~/bin/pw', 'echo "$HOME"']) {
    assert.throws(() => splitCommand(bad), code('INVALID'), bad);
  }
  assert.throws(() => splitCommand("echo 'open"), /unterminated single quote/);
  assert.throws(() => splitCommand('echo "open'), /unterminated double quote/);
});

test('an unknown field is rejected with a message that names it and the known ones', () => {
  assert.throws(
    () => parseConfig('passphrase_comand = "pass show x"\n', '/h/config.toml'),
    (e: unknown) => e instanceof SesameError && e.code === 'INVALID' && /unknown field "passphrase_comand"/.test(e.message) && /passphrase_command_timeout/.test(e.message),
  );
});

test('wrong types, empty commands, bad TOML and out-of-range timeouts are rejected', () => {
  assert.throws(() => parseConfig('passphrase_command = 3\n', 'c'), /string or an array of strings/);
  assert.throws(() => parseConfig('passphrase_command = []\n', 'c'), /is empty/);
  assert.throws(() => parseConfig('passphrase_command = "x"\npassphrase_command_timeout = 0\n', 'c'), /0.1 to 600/);
  assert.throws(() => parseConfig('passphrase_command = "x"\npassphrase_command_timeout = "30s"\n', 'c'), /0.1 to 600/);
  assert.throws(() => parseConfig('passphrase_command = [\n', 'c'), /not valid TOML/);
  assert.equal(parseConfig('passphrase_command_timeout = 0.25\n', 'c').passphraseCommandTimeoutMs, 250);
});

test('a config file others can write is refused: it decides which program runs', () => {
  const h = chainHome();
  writeConfig(h, 'passphrase_command = "pass show x"\n');
  fs.chmodSync(h.paths.config, 0o666);
  assert.throws(() => loadConfig(h.paths), code('INSECURE'));
  fs.chmodSync(h.paths.config, 0o644);
  assert.deepEqual(loadConfig(h.paths).passphraseCommand, ['pass', 'show', 'x'], 'readable by others is fine');
  h.cleanup();
});

test('a symlinked config file is refused', () => {
  const h = chainHome();
  fs.writeFileSync(`${h.base}/real.toml`, '', { mode: 0o600 });
  fs.symlinkSync(`${h.base}/real.toml`, h.paths.config);
  assert.throws(() => loadConfig(h.paths), code('INSECURE'));
  h.cleanup();
});
