/**
 * Runs AFTER the suite (scripts/test.mjs runs it once every test file has finished; it is
 * not a `.test.js`, so the main run never picks it up): no file of any test home the suite
 * made holds any value, token or passphrase the suite used (issue 12, "scan every file the
 * suite wrote"); in audit files not even base64- or hex-encoded.
 *
 * The homes and secrets come from the registry the helpers wrote (test/helpers/
 * suite-registry.ts): homes still on disk are scanned where they are, removed ones through
 * the copy kept at cleanup. It fails when it found no homes, no audit records or no secrets:
 * a scan of nothing proves nothing (test/unit/audit-secret-scan.test.ts proves the scan
 * finds a planted secret).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanRegistry } from '../helpers/secret-scan.js';

test('no file of any test home the suite wrote holds a value, token or passphrase the suite used', () => {
  const reg = process.env.SESAME_TEST_REGISTRY;
  assert.ok(reg, 'SESAME_TEST_REGISTRY is not set: run this through scripts/test.mjs (npm test)');
  const r = scanRegistry(reg);
  assert.ok(r.auditFiles > 0 && r.records > 0, `${r.homes} homes but no audit records among their ${r.files} files: the scan is not looking where the log is`);
  assert.deepEqual(r.leaks, [], 'secrets in files the suite wrote');
  process.stdout.write(`# scanned ${r.homes} homes, ${r.files} files, ${r.auditFiles} audit files (${r.records} records) for ${r.secrets} secrets\n`);
});
