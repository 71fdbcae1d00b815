/**
 * A spinner on stderr for work that blocks this thread (Argon2id runs synchronously in
 * libsodium): it is drawn by a worker thread, which keeps running while the main thread is
 * busy. Shown only when stderr is a terminal, and only once the work has taken longer than
 * `delayMs`; the line is cleared when the work ends. The worker holds no secret: it gets a
 * label and a shared flag, nothing else.
 */
import * as fs from 'node:fs';
import { isatty } from 'node:tty';

const WORKER = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const st = new Int32Array(workerData.sab);
const frames = ['|', '/', '-', '\\\\'];
let i = 0;
function tick() {
  if (Atomics.compareExchange(st, 0, 0, 2) !== 0) return; // stopped (1), never draws again
  try { fs.writeSync(2, '\\r' + frames[i++ % frames.length] + ' ' + workerData.label); Atomics.store(st, 1, 1); } catch {}
  Atomics.store(st, 0, 0);
  setTimeout(tick, 120);
}
setTimeout(tick, workerData.delayMs);
`;

/**
 * Starts a spinner labelled `label` that appears after `delayMs` if the caller is still
 * busy; returns the function that stops it and clears its line (idempotent). A no-op when
 * stderr is not a terminal or a worker cannot start.
 */
export async function startSpinner(label: string, delayMs = 500): Promise<() => void> {
  if (!isatty(2)) return () => {};
  let worker: import('node:worker_threads').Worker;
  const sab = new SharedArrayBuffer(8);
  const st = new Int32Array(sab);
  try {
    const { Worker } = await import('node:worker_threads');
    worker = new Worker(WORKER, { eval: true, workerData: { sab, label, delayMs }, stdout: false, stderr: false });
    worker.unref();
    worker.on('error', () => {});
  } catch {
    return () => {};
  }
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    while (Atomics.compareExchange(st, 0, 0, 1) !== 0) Atomics.wait(st, 0, 2, 5); // the worker is drawing: let it finish the frame
    if (Atomics.load(st, 1) === 1) {
      try {
        fs.writeSync(2, '\r\x1b[K');
      } catch {
        /* terminal gone */
      }
    }
    void worker.terminate();
  };
}
