// `sesame edit KEY` through the built CLI, with scripted editors and real ones (vim, ed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, initHome, requireTool, runProcess, sesame, setSecret, type TestHome } from '../helpers/cli.js';

/** An executable editor script in the test's directory. */
function editor(h: TestHome, name: string, body: string): string {
  const p = path.join(path.dirname(h.dir), name);
  fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o700 });
  return p;
}
const get = async (h: TestHome, key: string): Promise<string> => (await sesame(['get', key], { env: h.env })).out;

test('edit opens the value in $EDITOR on a 0600 file in a private tmpfs directory, stores the change as a new version, and leaves nothing behind', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'K', 'old-secret');
  const log = path.join(path.dirname(h.dir), 'seen');
  const ed = editor(h, 'ed.sh', `{ stat -c '%a' "$1"; stat -c '%a %u' "$(dirname "$1")"; stat -f -c '%T' "$1"; cat "$1"; echo; dirname "$1"; } > ${log}\nprintf 'new-secret\\n' > "$1"`);
  const r = await sesame(['edit', 'K'], { env: { ...h.env, EDITOR: ed } });
  assert.equal(r.code, 0, r.stderr);
  const [fileMode, dirModeUid, fsType, seenValue, dir] = fs.readFileSync(log, 'utf8').split('\n');
  assert.equal(fileMode, '600');
  assert.equal(dirModeUid, `700 ${process.getuid?.() ?? 0}`);
  assert.equal(fsType, 'tmpfs');
  assert.equal(seenValue, 'old-secret', 'the editor saw the current value');
  assert.equal(await get(h, 'K'), 'new-secret\n', 'stored without the newline the editor added');
  assert.equal((await sesame(['get', 'K', '--version', '1'], { env: h.env })).out, 'old-secret\n');
  assert.match(dir!, /^\/dev\/shm\/sesame-edit-/);
  assert.equal(fs.existsSync(dir!), false, 'the private directory is gone');
  // VISUAL wins over EDITOR
  const vis = editor(h, 'vis.sh', `printf 'from-visual' > "$1"`);
  assert.equal((await sesame(['edit', 'K'], { env: { ...h.env, EDITOR: '/bin/false', VISUAL: vis } })).code, 0);
  assert.equal(await get(h, 'K'), 'from-visual\n');
});

test('edit stores nothing when the value is unchanged or the editor fails', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'K', 'v');
  const file = path.join(h.dir, 'vault.json');
  const before = fs.readFileSync(file);
  const same = await sesame(['edit', 'K'], { env: { ...h.env, EDITOR: 'true' } });
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stderr, /unchanged; nothing was stored/);
  const fail = await sesame(['edit', 'K'], { env: { ...h.env, EDITOR: editor(h, 'bad.sh', `printf 'half' > "$1"; exit 3`) } });
  assert.equal(fail.code, 1);
  assert.match(fail.stderr, /the editor exited with 3; nothing was stored/);
  assert.ok(fs.readFileSync(file).equals(before), 'the vault file is untouched');
  assert.equal((await sesame(['edit', 'K'], { env: { ...h.env, EDITOR: undefined, VISUAL: undefined } })).code, 2);
});

test('edit removes the swap and backup files an editor leaves next to the value, and says so', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'K', 'v');
  const seen = path.join(path.dirname(h.dir), 'dir');
  const ed = editor(h, 'swp.sh', `d=$(dirname "$1"); echo "$d" > ${seen}; printf 'secret-in-swap' > "$d/.value.swp"; cp "$1" "$1~"; printf 'x' > "$d/#value#"; printf 'edited' > "$1"`);
  const r = await sesame(['edit', 'K'], { env: { ...h.env, EDITOR: ed } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /the editor left .*\.value\.swp.*value~.* next to the value: overwritten and removed/);
  assert.match(r.stderr, /#value#/);
  assert.equal(fs.existsSync(fs.readFileSync(seen, 'utf8').trim()), false, 'the directory and every file in it are gone');
  assert.equal(await get(h, 'K'), 'edited\n');
});

test('edit refuses, saying why, when no private memory filesystem is available — before asking for any passphrase', async (t) => {
  if (!requireTool(t, 'bwrap', 'bubblewrap')) return;
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'K', 'v');
  const disk = fs.mkdtempSync(path.join(path.dirname(h.dir), 'disk-'));
  const env = { ...h.env, EDITOR: 'true', SESAME_PASSPHRASE_FILE: undefined, XDG_RUNTIME_DIR: disk };
  // /dev/shm replaced by a directory on a disk; XDG_RUNTIME_DIR on a disk too.
  const r = await runProcess('bwrap', ['--dev-bind', '/', '/', '--bind', disk, '/dev/shm', process.execPath, BIN, 'edit', 'K'], { env });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /no private memory filesystem for the edit file/);
  assert.match(r.stderr, /\/dev\/shm: not a memory filesystem \(tmpfs\)/);
  assert.match(r.stderr, /refusing to write a secret to a disk/);
  assert.deepEqual(fs.readdirSync(disk), [], 'nothing was written there');
});

test('edit works with real editors: vim in ex mode and ed', async (t) => {
  const h = await initHome();
  t.after(() => {
    h.cleanup();
  });
  await setSecret(h, 'K', 'postgres://old@db/x');
  if (requireTool(t, 'vim', 'vim')) {
    const r = await sesame(['edit', 'K'], { env: { ...h.env, EDITOR: "vim -es -u NONE -c '%s/old/vim/' -c wq" } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await get(h, 'K'), 'postgres://vim@db/x\n');
  }
  if (requireTool(t, 'ed', 'ed')) {
    const ed = editor(h, 'ed.sh', `ed -s "$1" <<'X'\n1s/@db/@ed/\nw\nq\nX`);
    const r = await sesame(['edit', 'K'], { env: { ...h.env, EDITOR: ed } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(await get(h, 'K'), /@ed\/x\n$/);
  }
});
