#!/usr/bin/env node
// The floor for the agent's throughput: a bare Node NDJSON server on a Unix socket that
// answers every request line with one fixed line, the exact bytes `bench/agent-load.mjs`
// expects for its `get`. No peer check, no parsing, no vault, no key: what Node's `net`
// layer costs on its own under the same load generator.
//
//   node bench/bare-server.mjs SOCKET_PATH      (prints "ready" once listening; SIGTERM stops it)
import * as fs from 'node:fs';
import * as net from 'node:net';

const sock = process.argv[2];
if (!sock) {
  console.error('usage: node bench/bare-server.mjs SOCKET_PATH');
  process.exit(2);
}
const VALUE = 'b'.repeat(32);
const REPLY = Buffer.from(`{"v":1,"ok":true,"value":"${Buffer.from(VALUE).toString('base64')}"}\n`);
fs.rmSync(sock, { force: true });
const server = net.createServer((c) => {
  c.on('data', (d) => {
    // one reply per complete line in the chunk (closed-loop clients send one at a time)
    for (let i = d.indexOf(0x0a); i !== -1; i = d.indexOf(0x0a, i + 1)) c.write(REPLY);
  });
  c.on('error', () => c.destroy());
});
server.listen(sock, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
