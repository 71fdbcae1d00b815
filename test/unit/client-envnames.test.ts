/**
 * One rule for the names a secret may set, in `run`'s child environment and in `env`'s
 * documents, whatever the secret came from (vault or agent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUnsafeEnvName } from '../../src/core/envnames.js';
import { formatEnv, shellLine, ENV_FORMATS } from '../../src/core/envfmt.js';
import { childEnv } from '../../src/core/exec.js';
import { SesameError } from '../../src/core/errors.js';

const UNSAFE = [
  'LD_PRELOAD',
  'LD_LIBRARY_PATH',
  'LD_AUDIT',
  'LD_ANYTHING',
  'DYLD_INSERT_LIBRARIES',
  'NODE_OPTIONS',
  'BASH_ENV',
  'ENV',
  'PYTHONSTARTUP',
  'PERL5OPT',
  'JAVA_TOOL_OPTIONS',
  'PS4',
  'PROMPT_COMMAND',
  'IFS',
  'GCONV_PATH',
  'PATH',
];
const isInvalid = (e: unknown): boolean => e instanceof SesameError && e.code === 'INVALID';

test('names that change how programs load or start are unsafe; ordinary names are not', () => {
  for (const n of UNSAFE) assert.equal(isUnsafeEnvName(n), true, n);
  for (const n of ['DATABASE_URL', 'API_KEY', 'LD', 'OLD_PRELOAD', 'ENVIRONMENT', 'MY_PATH', 'NODE_ENV', '_']) assert.equal(isUnsafeEnvName(n), false, n);
});

test('run never builds a child environment that sets an unsafe name from a secret', () => {
  for (const n of UNSAFE)
    assert.throws(
      () =>
        childEnv({ PATH: '/bin' }, [
          ['OK', Buffer.from('1')],
          [n, Buffer.from('/tmp/evil.so')],
        ]),
      isInvalid,
      n,
    );
  const env = childEnv({ PATH: '/bin', SESAME_HOME: '/h' }, [['API', Buffer.from('v')]]).map(String);
  assert.deepEqual(env, ['PATH=/bin', 'API=v']);
});

test('run refuses a secret whose name is not a key name (it never reaches execve)', () => {
  for (const n of ['X;touch /tmp/pwned', 'A=B', '', '1A', 'A B']) assert.throws(() => childEnv({}, [[n, Buffer.from('v')]]), isInvalid, n);
});

test('env refuses unsafe and invalid names in every format, naming no value', () => {
  for (const f of ENV_FORMATS) {
    for (const n of [...UNSAFE, 'X;touch /tmp/pwned', "A'B", '$(id)']) {
      assert.throws(
        () => formatEnv(f, [[n, Buffer.from('SECRETVALUE')]]),
        (e: unknown) => isInvalid(e) && !(e as Error).message.includes('SECRETVALUE'),
        `${f} ${n}`,
      );
    }
  }
  assert.throws(() => shellLine('X;touch /tmp/pwned', Buffer.from('v')), isInvalid, 'the line writer checks the name itself');
  assert.equal(formatEnv('shell', [['API', Buffer.from("a'b")]]).toString(), "export API='a'\\''b'\n");
});
