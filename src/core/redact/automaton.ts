/**
 * One Aho-Corasick automaton over the bytes of every pattern of every needle.
 *
 * Tables are typed arrays over `new ArrayBuffer` (off V8's movable heap, like allocSecret):
 * the trie encodes the secrets' bytes, so `wipe()` zeroes every table in place. No pattern is
 * kept once inserted: the caller wipes its pattern Buffers after `buildAutomaton` returns.
 *
 * Transitions: a node with two or more children owns a dense row of 256 next states (already
 * resolved through the failure links); a node with one child keeps that child's byte, and on
 * any other byte the walk follows the failure link until a dense row or a matching single
 * child answers. Shallow text stays in dense rows, and 100 secrets need a few MiB, not the
 * 256 × nodes × 4 bytes of a full table.
 */

/** The tables of a built automaton; state 0 is the root. Read-only after build except wipe(). */
export interface Automaton {
  /** Per state: offset of its dense row in `dense` (row × 256), or -1. */
  readonly row: Int32Array;
  /** Dense rows, 256 next states each. */
  readonly dense: Int32Array;
  /** Per state with exactly one child: that child's byte; otherwise -1. */
  readonly single: Int16Array;
  /** Per state with exactly one child: the child. */
  readonly singleChild: Int32Array;
  /** Per state: the failure link (longest proper suffix that is a trie node). */
  readonly fail: Int32Array;
  /** Per state: its depth, i.e. the length of the pattern prefix it stands for. */
  readonly depth: Int32Array;
  /** Per state: length of the longest suffix of the text that is a proper prefix of some pattern. */
  readonly maxExt: Int32Array;
  /** Per state: index of the needle whose pattern ends exactly here, or -1. */
  readonly term: Int32Array;
  /** Per state: the next state on its failure chain where a pattern ends, or -1. */
  readonly dictOut: Int32Array;
  /** Per state: 1 when some pattern ends here (term or dictOut), else 0. */
  readonly hasOut: Uint8Array;
  /** Length of the longest pattern (0 when there is none). */
  readonly maxLen: number;
  /** Length of the shortest pattern (0 when there is none). */
  readonly minLen: number;
  /**
   * The hot loop: steps from state `s` over `buf[i, n)` and stops right after the first byte
   * that enters a state where some pattern ends, or at `n`. Returns that index; the state
   * reached is in `last[0]`.
   */
  run(buf: Buffer, i: number, n: number, s: number): number;
  /** The state `run` reached. */
  readonly last: Int32Array;
  /** Zeroes every table. */
  wipe(): void;
}

/** One pattern to insert: its bytes and the index of the needle it masks. */
export interface Pattern {
  readonly bytes: Buffer;
  readonly owner: number;
}

/** Nodes this shallow always get a dense row: ordinary text spends its time there. */
const DENSE_DEPTH = 2;

function i32(n: number, fill: number): Int32Array {
  const a = new Int32Array(new ArrayBuffer(Math.max(n, 1) * 4));
  if (fill !== 0) a.fill(fill);
  return a;
}

/**
 * Builds the automaton. When two needles share a pattern, the first one given owns it (its
 * name goes in the marker). Throws RangeError only if memory runs out.
 */
export function buildAutomaton(patterns: readonly Pattern[]): Automaton {
  let total = 1;
  let maxLen = 0;
  let minLen = patterns.length > 0 ? Infinity : 0;
  for (const p of patterns) {
    total += p.bytes.length;
    maxLen = Math.max(maxLen, p.bytes.length);
    minLen = Math.min(minLen, p.bytes.length);
  }
  const nodeByte = new Uint8Array(new ArrayBuffer(total));
  const firstChild = i32(total, -1);
  const sibling = i32(total, -1);
  const depth = i32(total, 0);
  const term = i32(total, -1);
  let count = 1;

  const childOf = (u: number, b: number): number => {
    for (let c = firstChild[u]!; c >= 0; c = sibling[c]!) if (nodeByte[c] === b) return c;
    return -1;
  };
  for (const p of patterns) {
    let u = 0;
    for (const b of p.bytes) {
      let c = childOf(u, b);
      if (c < 0) {
        c = count++;
        nodeByte[c] = b;
        depth[c] = depth[u]! + 1;
        sibling[c] = firstChild[u]!;
        firstChild[u] = c;
      }
      u = c;
    }
    if (u !== 0 && term[u]! < 0) term[u] = p.owner;
  }

  const fail = i32(count, 0);
  const dictOut = i32(count, -1);
  const maxExt = i32(count, 0);
  const hasOut = new Uint8Array(new ArrayBuffer(count));
  const single = new Int16Array(new ArrayBuffer(count * 2)).fill(-1);
  const singleChild = i32(count, 0);
  const row = i32(count, -1);
  let rows = 0;
  for (let u = 0; u < count; u++) {
    const c = firstChild[u]!;
    if (u === 0 || depth[u]! <= DENSE_DEPTH || (c >= 0 && sibling[c]! >= 0)) row[u] = 256 * rows++;
    else if (c >= 0) {
      single[u] = nodeByte[c]!;
      singleChild[u] = c;
    }
  }
  const dense = i32(rows * 256, 0);
  const step = (s: number, b: number): number => {
    for (;;) {
      const r = row[s]!;
      if (r >= 0) return dense[r + b]!;
      if (single[s] === b) return singleChild[s]!;
      s = fail[s]!;
    }
  };

  // Breadth-first: a node's failure link is shallower, so its row is complete when needed.
  const queue = i32(count, 0);
  let head = 0;
  let tail = 0;
  queue[tail++] = 0;
  while (head < tail) {
    const u = queue[head++]!;
    if (u !== 0) {
      const f = fail[u]!;
      dictOut[u] = term[f]! >= 0 ? f : dictOut[f]!;
      maxExt[u] = firstChild[u]! >= 0 ? depth[u]! : maxExt[f]!;
    }
    hasOut[u] = term[u]! >= 0 || dictOut[u]! >= 0 ? 1 : 0;
    for (let c = firstChild[u]!; c >= 0; c = sibling[c]!) {
      fail[c] = u === 0 ? 0 : step(fail[u]!, nodeByte[c]!);
      queue[tail++] = c;
    }
    const r = row[u]!;
    if (r >= 0) {
      // What the failure link's state does on each byte, then this node's own children.
      const f = fail[u]!;
      const fr = row[f]!;
      if (u !== 0 && fr >= 0) dense.copyWithin(r, fr, fr + 256);
      else if (u !== 0) for (let b = 0; b < 256; b++) dense[r + b] = step(f, b);
      for (let c = firstChild[u]!; c >= 0; c = sibling[c]!) dense[r + nodeByte[c]!] = c;
    }
  }
  for (const a of [nodeByte, firstChild, sibling, queue]) a.fill(0);

  // The hot loop's copy of the transitions: a next state with outputs is stored as ~state
  // (negative), so one load both moves and tells whether to stop.
  const fdense = i32(rows * 256, 0);
  for (let k = 0; k < rows * 256; k++) {
    const t = dense[k]!;
    fdense[k] = hasOut[t] === 1 ? ~t : t;
  }
  const fchild = i32(count, 0);
  for (let u = 0; u < count; u++) fchild[u] = hasOut[singleChild[u]!] === 1 && single[u]! >= 0 ? ~singleChild[u]! : singleChild[u]!;
  const last = new Int32Array(new ArrayBuffer(4));
  const run = (buf: Buffer, i: number, n: number, s: number): number => {
    while (i < n) {
      const b = buf[i++]!;
      let t: number;
      for (;;) {
        const r = row[s]!;
        if (r >= 0) {
          t = fdense[r + b]!;
          break;
        }
        if (single[s] === b) {
          t = fchild[s]!;
          break;
        }
        s = fail[s]!;
      }
      if (t < 0) {
        last[0] = ~t;
        return i;
      }
      s = t;
    }
    last[0] = s;
    return i;
  };

  const tables = { row, dense, single, singleChild, fail, depth, maxExt, term, dictOut, hasOut, fdense, fchild, last };
  return {
    ...tables,
    maxLen,
    minLen,
    run,
    wipe(): void {
      for (const a of Object.values(tables)) a.fill(0);
    },
  };
}
