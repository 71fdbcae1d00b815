/**
 * The client side of `getfd` (docs/spec/agent-protocol.md): one value from the agent as a
 * file descriptor, on a connection of its own driven through the native door (node:net
 * cannot receive descriptors). Loads koffi (the native door) — callers that never ask for a
 * descriptor never load this module.
 *
 * The same checks as client.ts: the socket must be ours in a private directory (skipped with
 * SESAME_AGENT_DELEGATED=1, as there), and after connecting the kernel's peer credentials
 * must show our uid before anything is sent. The reply is checked: one `ok` frame for our id
 * with `kind` (`secret`/`sealed`) and `size`, exactly one descriptor with it, whose size is
 * `size` — and, for `sealed`, sealed against every change. Anything else closes whatever
 * descriptors came and fails with PROTOCOL. The value itself never enters this process.
 */
import * as fs from 'node:fs';
import { SesameError } from '../errors.js';
import { closeDescriptor, connectUnix, fdFullySealed, peerCred, recvWithFds, setRecvTimeout, writeAll, type SecretFdKind } from '../os/native.js';
import { agentToken, isSocket, socketLooksOurs } from './client.js';
import { MAX_SOCKET_PATH } from './protocol.js';
import { badReply, checkError, checkErrorFrame, classify } from './reply-check.js';

/** A delivered value: the descriptor (close-on-exec; the caller closes it), its kind and size. */
export interface DeliveredFd {
  fd: number;
  kind: SecretFdKind;
  size: number;
}

/** Options of one `getfd`. */
export interface GetFdOptions {
  /** `sealed`: a file read(2) can read (what a child process needs); default: the best kind there is. */
  kind?: 'sealed';
  /** A token to send (default: SESAME_AGENT_TOKEN from `env`). */
  token?: string;
  /** Seconds to wait for the answer (default 30; an approval may be pending). */
  timeoutS?: number;
}

const MAX_FRAME = 64 * 1024;

/**
 * Asks the agent at `sock` for `project`/`key` as a descriptor. UNAVAILABLE when no agent
 * answers there; INSECURE when the socket or its server is not ours; the agent's own error
 * (NOT_FOUND, DENIED, …) rebuilt; PROTOCOL for a reply that breaks the rules.
 */
export function getFdFromAgent(sock: string, env: NodeJS.ProcessEnv, project: string, key: string, opts: GetFdOptions = {}): DeliveredFd {
  const token = opts.token ?? agentToken(env);
  const delegated = env.SESAME_AGENT_DELEGATED === '1';
  if (Buffer.byteLength(sock) > MAX_SOCKET_PATH || !(delegated ? isSocket(sock) : socketLooksOurs(sock))) throw noAgent(sock);
  let s: number;
  try {
    s = connectUnix(sock);
  } catch {
    throw noAgent(sock);
  }
  try {
    if (!delegated && typeof process.getuid === 'function') {
      const me = process.getuid();
      let uid: number;
      try {
        uid = peerCred(s).uid;
      } catch {
        throw new SesameError('INSECURE', `cannot verify which user serves the agent socket ${sock}`, { hint: 'use --no-agent to read the vault directly' });
      }
      if (uid !== me)
        throw new SesameError('INSECURE', `the process serving the agent socket ${sock} runs as uid ${uid}, not as you (uid ${me}): nothing was sent to it`, {
          hint: 'remove the socket and restart your agent',
        });
    }
    setRecvTimeout(s, opts.timeoutS ?? 30);
    const req = { v: 2, id: 1, op: 'getfd', project, key, ...(opts.kind ? { kind: opts.kind } : {}), ...(delegated ? {} : { pid: process.pid }), ...(token !== undefined ? { token } : {}) };
    const line = Buffer.from(`${JSON.stringify(req)}\n`, 'utf8');
    try {
      writeAll(s, line);
    } finally {
      line.fill(0); // it may carry a token
    }
    return readAnswer(s);
  } finally {
    closeDescriptor(s);
  }
}

function noAgent(sock: string): SesameError {
  return new SesameError('UNAVAILABLE', `no agent answers at ${sock}`, { remedy: 'agent_start' });
}

/** Reads one line and the descriptors that came with it; checks both (see the module comment). */
function readAnswer(s: number): DeliveredFd {
  const buf = Buffer.alloc(MAX_FRAME);
  const fds: number[] = [];
  let len = 0;
  try {
    for (;;) {
      const r = recvWithFds(s, buf.subarray(len));
      fds.push(...r.fds);
      if (r.n === 0) throw new SesameError('UNAVAILABLE', 'the agent closed the connection before answering', { remedy: 'agent_status' });
      len += r.n;
      const nl = buf.subarray(0, len).indexOf(10);
      if (nl >= 0) {
        const d = check(buf.subarray(0, nl), fds);
        fds.length = 0;
        return d;
      }
      if (len >= buf.length) throw badReply(`a frame is over ${MAX_FRAME} bytes`);
    }
  } finally {
    for (const f of fds) closeDescriptor(f);
  }
}

function check(line: Buffer, fds: number[]): DeliveredFd {
  let doc: unknown;
  try {
    doc = JSON.parse(line.toString('utf8'));
  } catch {
    throw badReply('it is not well-formed JSON');
  }
  const got = classify(doc);
  if (got.kind === 'v1') throw checkError(got.r);
  if (got.id !== 1) throw badReply('it does not carry the id of the request');
  if (got.frame === 'error') {
    if (fds.length) throw badReply('a descriptor came with an error');
    throw checkErrorFrame(got.r);
  }
  if (got.frame !== 'ok') throw badReply(`a "${got.frame}" frame answers getfd`);
  const r = got.r as Record<string, unknown>;
  const extra = Object.keys(r).filter((k) => !['v', 'id', 'frame', 'kind', 'size'].includes(k));
  if (extra.length) throw badReply(`the getfd frame has unexpected members (${extra.join(', ')})`);
  if (r.kind !== 'secret' && r.kind !== 'sealed') throw badReply('kind is neither "secret" nor "sealed"');
  if (!Number.isSafeInteger(r.size) || (r.size as number) < 0) throw badReply('size is not a whole number');
  if (fds.length !== 1) throw badReply(`${fds.length} descriptors came with the answer instead of one`);
  const fd = fds[0]!;
  const st = fs.fstatSync(fd);
  if (st.size !== r.size) throw badReply(`the descriptor holds ${st.size} bytes, the frame says ${String(r.size)}`);
  if (r.kind === 'sealed' && !fdFullySealed(fd)) throw badReply('the "sealed" descriptor is not sealed against writes');
  return { fd, kind: r.kind, size: r.size };
}
