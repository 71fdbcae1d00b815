import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProjectFile, searchDirs } from '../../src/core/project-file.js';

test('the walk stops at $HOME from inside it, and goes to / from outside (a name sharing HOME as a prefix is outside)', () => {
  assert.deepEqual(searchDirs('/home/u/src/app', '/home/u'), ['/home/u/src/app', '/home/u/src', '/home/u']);
  assert.deepEqual(searchDirs('/home/u', '/home/u'), ['/home/u']);
  assert.deepEqual(searchDirs('/home/user2/x', '/home/u'), ['/home/user2/x', '/home/user2', '/home', '/']);
  assert.deepEqual(searchDirs('/srv/app', '/home/u/'), ['/srv/app', '/srv', '/']);
  assert.deepEqual(searchDirs('/srv/app', undefined), ['/srv/app', '/srv', '/']);
  assert.deepEqual(searchDirs('/srv/app', 'relative/home'), ['/srv/app', '/srv', '/']);
});

test('parses project, only and prefix, and refuses anything else by name', () => {
  assert.deepEqual(parseProjectFile('/x/.sesame.toml', 'project = "web"\nonly = ["A", "B"]\nprefix = "W_"\n'), { file: '/x/.sesame.toml', project: 'web', only: ['A', 'B'], prefix: 'W_' });
  assert.throws(() => parseProjectFile('/x/.sesame.toml', 'project = "web"\n[agent]\nsock = "/tmp/evil"\n'), /unknown key "agent"/);
  assert.throws(() => parseProjectFile('/x/.sesame.toml', 'only = ["A"]\n'), /`project` must be a string/);
  assert.throws(() => parseProjectFile('/x/.sesame.toml', 'project = "web"\nonly = "A,B"\n'), /`only` must be an array/);
  assert.throws(() => parseProjectFile('/x/.sesame.toml', 'project = "web"\nprefix = 1\n'), /`prefix` must be a string/);
  assert.throws(() => parseProjectFile('/x/.sesame.toml', '__proto__ = "x"\nproject = "web"\n'), /unknown key|not valid TOML/);
});
