/**
 * The sockets an agent serves: a list of listeners, each with its kind, its peer rule, where
 * its socket goes, and the modes of the socket and its directory
 * (docs/spec/agent-protocol.md, "Listeners and callers"): the owner socket (`ownerListener`),
 * one per profile (`profileListener`) and, with `--cells`, the cell socket (`cellListener`).
 *
 * Rules per kind (server side):
 * - owner: `agent.sock` in the home (or SESAME_AGENT_SOCK); socket 0600, directory 0700 and
 *   ours; peer rule `same-uid`.
 * - profile: `sockets/<name>.sock` in the home; cell: `cells.sock`. Peer rule from the policy
 *   (`same-uid`, `any`, or a list of uids). With `same-uid` the socket is 0600 like the owner's.
 *   With `any` or a uid list it is 0666 — another uid must be able to connect(2) through a
 *   bind mount of the socket file (a container, a bubblewrap sandbox), which needs write
 *   permission on the socket inode — but its directory stays 0700 and ours, so on the host no
 *   other user can reach the path (no search permission); a bind mount reaches the inode
 *   without walking the host's directories. Reaching the socket is then the capability; the
 *   peer rule is still checked on every accept (policy/authorize.ts, authorizeConnection).
 * - Every path follows paths.ts `placeSocket`: under a private `$XDG_RUNTIME_DIR/sesame-…`
 *   directory when the home's path would be too long for a Unix socket.
 * - Binding is socket.ts's: refuse a non-socket at the path, remove a dead socket, refuse a
 *   live one, bind under a umask so the mode holds from birth, verify after bind. Shutdown
 *   closes every listener and unlinks each socket only if the path still names ours.
 *
 * Trust rules per kind (client side, `CLIENT_TRUST`): what a client checks before it sends
 * anything to a socket of that kind.
 */
import type * as net from 'node:net';
import * as path from 'node:path';
import { placeSocket, type HomePaths } from '../paths.js';
import type { PeerRule } from '../policy/authorize.js';
import type { ListenerKind, ListenerRef } from '../policy/caller.js';
import { listenPrivate, prepareSocketPath, stillOurs, unlinkIfOurs, type SocketRules } from './socket.js';

/** One socket the agent should serve. Immutable. */
export interface ListenerSpec {
  readonly ref: ListenerRef;
  readonly socket: string;
  readonly peer: PeerRule;
  /** The socket's mode (its directory is always 0700 and ours). */
  readonly mode: 0o600 | 0o666;
  /** Set when the socket was relocated under $XDG_RUNTIME_DIR (paths.ts `placeSocket`). */
  readonly runtimeDir?: string;
}

/** What a client verifies before sending a request to a socket of each kind. */
export interface ClientTrust {
  /** The socket file and its directory must be owned by the client's uid, the directory 0700. */
  readonly privatePath: boolean;
  /** After connect, the kernel's peer uid must be the client's own uid. */
  readonly peerIsMe: boolean;
  /** Why, in one line (for the docs and error hints). */
  readonly why: string;
}

/**
 * Client trust per kind. The owner client (core/agent/client.ts) does both checks: a socket
 * planted by another user, or served by another uid, gets nothing. A client of a profile or
 * cell socket typically runs as another uid inside a sandbox, where the socket was bind-mounted
 * by whoever set the sandbox up; it cannot check ownership against its own uid, so it trusts
 * the path it was given (SESAME_AGENT_SOCK) and sends only its token — never a passphrase.
 */
export const CLIENT_TRUST: ReadonlyMap<ListenerKind, ClientTrust> = new Map<ListenerKind, ClientTrust>([
  ['owner', Object.freeze({ privatePath: true, peerIsMe: true, why: 'the owner socket is ours: a socket planted or served by another uid is refused before anything is sent' })],
  [
    'profile',
    Object.freeze({ privatePath: false, peerIsMe: false, why: 'a profile socket is reached through a bind mount set up by its owner: the path given is the trust; only a token is ever sent' }),
  ],
  [
    'cell',
    Object.freeze({ privatePath: false, peerIsMe: false, why: 'a cell socket is reached through a bind mount set up by its owner: the path given is the trust; only the cell token is ever sent' }),
  ],
]);

/** The owner listener: `paths.agentSock`, 0600, same uid. */
export function ownerListener(paths: HomePaths): ListenerSpec {
  return freeze({ ref: { kind: 'owner' }, socket: paths.agentSock, peer: 'same-uid', mode: 0o600, ...(paths.runtimeDir ? { runtimeDir: paths.runtimeDir } : {}) });
}

/** A profile's listener (issue 9): `sockets/<name>.sock`; `name` must already be a valid profile name. */
export function profileListener(home: string, name: string, peer: PeerRule, env: NodeJS.ProcessEnv): ListenerSpec {
  return delegated({ kind: 'profile', name }, placeSocket(home, path.join('sockets', `${name}.sock`), env), home, env, peer);
}

/** The cell listener (issue 11): `cells.sock`. */
export function cellListener(home: string, peer: PeerRule, env: NodeJS.ProcessEnv): ListenerSpec {
  return delegated({ kind: 'cell' }, placeSocket(home, 'cells.sock', env), home, env, peer);
}

function delegated(ref: ListenerRef, place: ReturnType<typeof placeSocket>, home: string, env: NodeJS.ProcessEnv, peer: PeerRule): ListenerSpec {
  const runtimeDir = place.relocated ? placeSocket(home, 'agent.sock', env).dir : undefined;
  return freeze({ ref, socket: place.path, peer, mode: peer === 'same-uid' ? 0o600 : 0o666, ...(runtimeDir ? { runtimeDir } : {}) });
}

function freeze(s: ListenerSpec): ListenerSpec {
  return Object.freeze({ ...s, ref: Object.freeze({ ...s.ref }) });
}

/** A listener that is bound and serving. */
export interface OpenListener {
  readonly spec: ListenerSpec;
  readonly server: net.Server;
  /** Inode of the socket we bound: unlink only if the path still names it. */
  readonly ino: number;
}

/** What `status` shows of a listener: never secret. */
export interface ListenerInfo {
  readonly kind: ListenerKind;
  readonly name?: string;
  readonly socket: string;
}

/** The ListenerInfo of a bound listener (kind, name when it has one, socket path). Never throws. */
export function listenerInfo(l: { spec: ListenerSpec }): ListenerInfo {
  const { kind, name } = l.spec.ref;
  return name === undefined ? { kind, socket: l.spec.socket } : { kind, name, socket: l.spec.socket };
}

/**
 * Binds every listener in order (stale sockets removed, live ones refused, modes verified).
 * All or nothing: if one fails, those already bound are closed and unlinked, and the error
 * is thrown (INSECURE, INVALID, or ERROR "an agent is already listening").
 */
export async function openListeners(specs: readonly ListenerSpec[], onConnection: (c: net.Socket, l: ListenerSpec) => void): Promise<OpenListener[]> {
  const open: OpenListener[] = [];
  try {
    for (const spec of specs) {
      const rules: SocketRules = { mode: spec.mode, ...(spec.runtimeDir ? { runtimeDir: spec.runtimeDir } : {}) };
      await prepareSocketPath(spec.socket, rules);
      const l = await listenPrivate(
        spec.socket,
        (c) => {
          onConnection(c, spec);
        },
        rules,
      );
      open.push(Object.freeze({ spec, server: l.server, ino: l.ino }));
    }
  } catch (e) {
    closeListeners(open);
    throw e;
  }
  return open;
}

/** Stops accepting on every listener and unlinks each socket that is still ours. Never throws. */
export function closeListeners(open: readonly OpenListener[]): void {
  for (const l of open) {
    l.server.close();
    unlinkIfOurs(l.spec.socket, l.ino);
  }
}

/** The first listener whose path no longer names the socket we bound (removed or replaced), if any. */
export function lostListener(open: readonly OpenListener[]): OpenListener | undefined {
  return open.find((l) => !stillOurs(l.spec.socket, l.ino));
}
