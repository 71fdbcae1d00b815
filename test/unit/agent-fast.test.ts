import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastGetArgs } from '../../src/cli/get-fast-path.js';

test('the get fast path takes only the plain form; everything else goes the normal way', () => {
  assert.deepEqual(fastGetArgs(['get', 'API'], {}), { home: undefined, project: undefined, key: 'API' });
  assert.deepEqual(fastGetArgs(['--home', '/h', 'get', '-p', 'work', 'API'], {}), { home: '/h', project: 'work', key: 'API' });
  assert.deepEqual(fastGetArgs(['get', 'API', '--home=/h', '--project=w'], {}), { home: '/h', project: 'w', key: 'API' });
  // The one grammar: `-pwork` means `-p work` to the full CLI, so to the fast path too.
  assert.deepEqual(fastGetArgs(['get', 'API', '-pwork'], {}), { home: undefined, project: 'work', key: 'API' });
  for (const argv of [
    ['get'],
    ['get', 'A', 'B'],
    ['get', 'API', '--json'],
    ['get', 'API', '--no-agent'],
    ['get', 'API', '--help'],
    ['get', '--', 'API'],
    ['get', '1BAD'],
    ['API', 'get'],
    ['list'],
    ['get', 'API', '-p'],
    [],
  ]) {
    assert.equal(fastGetArgs(argv, {}), null, argv.join(' '));
  }
  assert.equal(fastGetArgs(['get', 'API'], { SESAME_NO_AGENT: '1' }), null);
});
