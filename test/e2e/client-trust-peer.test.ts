/**
 * The client checks the socket path and then connects by name, so a path flipped in between
 * can hand it to another user's listener. The simulation, race-free: an impostor running as
 * nobody listens on a socket it bound in its own directory; root then moves that socket
 * into a private 0700 root directory and makes it root's 0600 — exactly what a won race
 * leaves behind. Every path check passes; only the server's peer credentials (SO_PEERCRED
 * on the client's fd) tell, and the CLI must refuse before sending anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initHome, sesame } from '../helpers/cli.js';
import { IMPOSTOR_VALUE, startImpostor } from '../helpers/client-impostor.js';

const NOBODY = 65534;

test('refuses an agent socket served by another uid even when the socket and its directory are ours (INSECURE, nothing sent)', async (t) => {
  if (process.getuid?.() !== 0) {
    if (process.env.CI === 'true') assert.fail('this test must run as root in CI (it runs an impostor as nobody)');
    t.skip('needs root to run an agent impostor as nobody');
    return;
  }
  const h = await initHome();
  const base = path.dirname(h.dir);
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-nobody-'));
  fs.chownSync(stage, NOBODY, NOBODY);
  fs.chmodSync(stage, 0o700);
  const sockDir = path.join(base, 'run');
  fs.mkdirSync(sockDir, { mode: 0o700 });
  const sock = path.join(sockDir, 'agent.sock');
  const ran = path.join(base, 'ran');
  const imp = await startImpostor(path.join(stage, 's'), 'good', path.join(base, 'pwned'), { uid: NOBODY, gid: NOBODY });
  try {
    fs.renameSync(path.join(stage, 's'), sock); // the flip: nobody's listener now answers at our path
    fs.chownSync(sock, 0, 0);
    fs.chmodSync(sock, 0o600);
    const st = fs.lstatSync(sock);
    assert.ok(st.isSocket() && st.uid === 0 && fs.statSync(sockDir).uid === 0, 'the path checks see a private root socket');
    const { SESAME_PASSPHRASE_FILE: _drop, ...rest } = h.env;
    const env = { ...rest, SESAME_AGENT_SOCK: sock };
    for (const args of [['get', 'K'], ['env'], ['run', '--', 'sh', '-c', `touch ${ran}`]]) {
      const r = await sesame(args, { env });
      const label = args.join(' ');
      assert.equal(r.code, 1, `${label}: ${r.stderr}`);
      assert.match(r.stderr, /runs as uid 65534 \(pid \d+\), not as you \(uid 0\): it is not your agent/, label);
      assert.match(r.stderr, /hint: /, label);
      assert.equal(r.stdout.length, 0, `${label}: printed ${JSON.stringify(r.out)}`);
      assert.ok(!r.stderr.includes(IMPOSTOR_VALUE), label);
    }
    const js = await sesame(['get', 'K', '--json'], { env });
    assert.equal((JSON.parse(js.out) as { code: string }).code, 'INSECURE');
    const status = await sesame(['agent', 'status', '--json'], { env });
    assert.equal((JSON.parse(status.out) as { error?: { code: string } }).error?.code, 'INSECURE', status.out);
    assert.equal(fs.existsSync(ran), false, 'run started the command');
    assert.doesNotMatch(imp.log(), /request/, 'a request reached the impostor');
  } finally {
    await imp.stop();
    fs.rmSync(stage, { recursive: true, force: true });
    h.cleanup();
  }
});
