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
   * reached is in `last[0]`. At the root it skips, with `shift`, the bytes where no pattern can
   * start; the state it reports then leaves out partial matches that begin at such bytes (they
   * can never complete: the bytes that rule them out are already in `buf`).
   */
  run(buf: Buffer, i: number, n: number, s: number): number;
  /**
   * The skip filter: per hash of a 4-byte block, how far a window of the shortest pattern's
   * length (at most 32) may move without passing the start of a pattern (see `run`).
   */
  readonly shift: Uint8Array;
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
/** The skip filter's window: the shortest pattern's length, capped here. */
const SKIP_WINDOW = 32;
/** The skip filter is on when every pattern is at least this long (shorter windows barely skip). */
const SKIP_MIN = 8;
/** Bytes hashed per filter step (the window's last ones). */
const SKIP_BLOCK = 4;
/**
 * The filter table has at most 2^this entries (64 KiB): it is read once per window at random
 * places, so it must stay in the CPU's cache. Measured on 100 secrets (65,000 blocks) over
 * 32 MiB of the benchmark's text: 2^16 entries 15 ms, 2^18 15 ms, 2^20 34 ms (cache misses),
 * 2^14 18 ms and 2^12 45 ms (collisions shrink the shifts).
 */
const SKIP_BITS_MAX = 16;
/** Multiplier of the block hash (Knuth's, 2^32 / golden ratio). */
const SKIP_HASH = 0x9e3779b1 | 0;
/** The filter resumes when the live partial match is this short (bytes scanned again). */
const SKIP_RESCAN = 3;

function i32(n: number, fill: number): Int32Array {
  const a = new Int32Array(new ArrayBuffer(Math.max(n, 1) * 4));
  if (fill !== 0) a.fill(fill);
  return a;
}

/**
 * The skip loop: from window start `i` (at most `last`), moves on while the window's last
 * block starts no pattern's prefix; returns the first window start that may begin a match, or
 * the first past `last`. Top-level with its tables as arguments, so the loop keeps them in
 * registers. One 32-bit load per window (little-endian: the number the table was built from).
 */
function skipAhead(dv: DataView, i: number, last: number, shift: Uint8Array, wb: number, hashShift: number): number {
  while (i <= last) {
    const d = shift[Math.imul(dv.getInt32(i + wb, true), SKIP_HASH) >>> hashShift]!;
    if (d === 0) return i;
    i += d;
  }
  return i;
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

  // The root's children by byte (it has the most; deeper nodes have few, found by a walk).
  const rootKid = i32(256, -1);
  for (let k = 0; k < patterns.length; k++) {
    const p = patterns[k]!;
    const x = p.bytes;
    let u = 0;
    for (let j = 0; j < x.length; j++) {
      const b = x[j]!;
      let c = -1;
      if (u === 0) c = rootKid[b]!;
      else for (c = firstChild[u]!; c >= 0 && nodeByte[c] !== b; c = sibling[c]!);
      if (c < 0) {
        c = count++;
        nodeByte[c] = b;
        depth[c] = depth[u]! + 1;
        sibling[c] = firstChild[u]!;
        firstChild[u] = c;
        if (u === 0) rootKid[b] = c;
      }
      u = c;
    }
    if (u !== 0 && term[u]! < 0) term[u] = p.owner;
  }
  rootKid.fill(0);

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
  const chain = i32(maxLen + 1, 0);
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
      else if (u !== 0) {
        // Down the failure chain to the first dense row: that row, then the single child of
        // each node on the way, the nearest last (it answers first).
        let k = f;
        let m = 0;
        while (row[k]! < 0) {
          chain[m++] = k;
          k = fail[k]!;
        }
        dense.copyWithin(r, row[k]!, row[k]! + 256);
        while (m > 0) {
          const x = chain[--m]!;
          if (single[x]! >= 0) dense[r + single[x]!] = singleChild[x]!;
        }
      }
      for (let c = firstChild[u]!; c >= 0; c = sibling[c]!) dense[r + nodeByte[c]!] = c;
    }
  }
  for (const a of [nodeByte, firstChild, sibling, queue, chain]) a.fill(0);

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

  // The skip filter (Wu-Manber): every pattern is at least `W` bytes long, so a window of W
  // text bytes that starts a match is some pattern's first W bytes. `shift` maps a hash of a
  // window's last SKIP_BLOCK bytes to how far the window may move without passing the start
  // of any pattern: W − SKIP_BLOCK − (the rightmost place that block takes in any pattern's
  // first W bytes), or W − SKIP_BLOCK + 1 when it takes none. 0 means "a match may start here".
  const W = Math.min(minLen, SKIP_WINDOW);
  const skipOn = W >= SKIP_MIN;
  let hashBits = 10;
  while (skipOn && hashBits < SKIP_BITS_MAX && 1 << hashBits < 2 * patterns.length * (W - SKIP_BLOCK + 1)) hashBits++;
  const hashShift = 32 - hashBits;
  const shift = new Uint8Array(new ArrayBuffer(skipOn ? 1 << hashBits : 1));
  if (skipOn) {
    shift.fill(W - SKIP_BLOCK + 1);
    for (const p of patterns) {
      const x = p.bytes;
      for (let j = 0; j + SKIP_BLOCK <= W; j++) {
        const h = Math.imul(x[j]! | (x[j + 1]! << 8) | (x[j + 2]! << 16) | (x[j + 3]! << 24), SKIP_HASH) >>> hashShift;
        if (shift[h]! > W - SKIP_BLOCK - j) shift[h] = W - SKIP_BLOCK - j;
      }
    }
  }
  const WB = W - SKIP_BLOCK;

  const run = (buf: Buffer, i: number, n: number, s: number): number => {
    // No live partial match starts before `p` (the state's own, the longest, starts there).
    let p = i - depth[s]!;
    for (;;) {
      if (s === 0 && skipOn) {
        // At the root: move the window while its last block starts no pattern's prefix. Every
        // position skipped is one where no pattern starts, so the root is still the state.
        if (i + W <= n) i = skipAhead(new DataView(buf.buffer, buf.byteOffset, n), i, n - W, shift, WB, hashShift);
        p = i;
      }
      let again = false;
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
        // Back to skipping when the live partial match is short and starts after `p` (so the
        // scan moves on): the next filter step starts at that partial match's first byte, and
        // any pattern through it is found again from the root. Only for a window that fits.
        const d = depth[s]!;
        if (skipOn && d <= SKIP_RESCAN && i - d > p && i - d + W <= n) {
          i -= d;
          s = 0;
          again = true;
          break;
        }
      }
      if (!again) break;
    }
    last[0] = s;
    return i;
  };

  const tables = { row, dense, single, singleChild, fail, depth, maxExt, term, dictOut, hasOut, fdense, fchild, last, shift };
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
