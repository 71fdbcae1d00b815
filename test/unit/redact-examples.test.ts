/**
 * The redactor's promises one by one, each with a value written out by hand or by Node's own
 * encoders: every encoding it masks, the matching rule, chunk boundaries, ANSI escapes, short
 * values, counts, and wipe().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedactor, type Needle, type Redactor } from '../../src/core/redact/index.js';
import { Arena, ENCODINGS, derivePatterns } from '../../src/core/redact/encodings.js';
import { buildAutomaton } from '../../src/core/redact/automaton.js';
import { SesameError } from '../../src/core/errors.js';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../helpers/cli.js';

const VALUE = 'p4ss/wörd+"x\\y&<z>\'\n';
const needle = (name: string, v: string | Buffer): Needle => ({ name, value: typeof v === 'string' ? Buffer.from(v, 'utf8') : v });

function maskAll(red: Redactor, input: string | Buffer, chunk = Infinity): string {
  const buf = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const outs: Buffer[] = [];
  for (let i = 0; i < buf.length; i += Math.min(chunk, buf.length)) outs.push(red.push(buf.subarray(i, i + Math.min(chunk, buf.length))));
  outs.push(red.flush());
  return Buffer.concat(outs).toString('latin1');
}

/** A string of the value's bytes read as latin1, so any encoding's output can be spliced in. */
const L = (b: Buffer | string): string => (typeof b === 'string' ? Buffer.from(b, 'utf8') : b).toString('latin1');

const v = Buffer.from(VALUE, 'utf8');
const pyAscii = JSON.stringify(VALUE).replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
const EXAMPLES: Array<[string, string]> = [
  ['raw', L(v)],
  ['hex', v.toString('hex')],
  ['HEX', v.toString('hex').toUpperCase()],
  ['base64 padded', v.toString('base64')],
  ['base64 unpadded', v.toString('base64').replace(/=+$/, '')],
  ['base64url', v.toString('base64url')],
  ['base64url padded', v.toString('base64').replaceAll('+', '-').replaceAll('/', '_')],
  ['percent, every byte', [...v].map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join('')],
  ['percent, every byte, lower case', [...v].map((b) => '%' + b.toString(16).padStart(2, '0')).join('')],
  ['encodeURIComponent', encodeURIComponent(VALUE)],
  ['RFC 3986 unreserved kept', encodeURIComponent(VALUE).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())],
  ['URLSearchParams (form)', new URLSearchParams({ k: VALUE }).toString().slice(2)],
  ['JSON.stringify', L(JSON.stringify(VALUE).slice(1, -1))],
  ['JSON, ASCII only (Python json.dumps)', pyAscii.slice(1, -1)],
  ['JSON, ASCII only, \\/ (PHP json_encode)', pyAscii.slice(1, -1).replaceAll('/', '\\/')],
  ['JSON inside JSON', L(JSON.stringify(JSON.stringify(VALUE)).slice(3, -3))],
  ['shell single quotes', L(VALUE.replaceAll("'", "'\\''"))],
  ['HTML', L(VALUE.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;'))],
];

for (const [name, enc] of EXAMPLES) {
  test(`masks the value written as ${name}`, () => {
    const red = createRedactor([needle('TOKEN', v)]);
    assert.equal(maskAll(red, `before ${enc} after`), 'before <sesame:TOKEN> after');
    assert.deepEqual(red.counts(), { TOKEN: 1 });
  });
}

test('masks a value inside a longer base64 stream at each of the three alignments', () => {
  const value = Buffer.from('0123456789abcdef');
  for (const k of [0, 1, 2]) {
    for (const tail of ['', 'x', 'xy', 'xyz']) {
      const b64 = Buffer.concat([Buffer.from('ABC'.slice(0, k)), value, Buffer.from(tail)]).toString('base64');
      const red = createRedactor([needle('K', value)], { ansi: false });
      const out = maskAll(red, b64);
      assert.match(out, /<sesame:K>/, `offset ${k}, tail ${tail}: ${out}`);
      // What is left around the marker is only what the neighbouring bytes share with the value.
      assert.ok(out.replace(/<sesame:K>/, '').length <= 8, `offset ${k}: ${out}`);
    }
  }
});

test('derives the Python bytes repr and C escapes of a binary value', () => {
  const bin = Buffer.from([0x00, 0xff, 0x41, 0x27, 0x22, 0x5c, 0x0a, 0x7f, 0x10]);
  const red = createRedactor([needle('BIN', bin)]);
  assert.equal(maskAll(red, "b'\\x00\\xffA\\'\"\\\\\\n\\x7f\\x10'"), "b'<sesame:BIN>'");
  assert.equal(maskAll(createRedactor([needle('BIN', bin)]), '"\\x00\\xffA\'\\"\\\\\\n\\x7f\\x10"'), '"<sesame:BIN>"');
});

test('lists the encodings it masks, and docs/redaction.md names the same ones in its table', () => {
  assert.ok(ENCODINGS.length >= 14);
  assert.equal(new Set(ENCODINGS.map((e) => e.name)).size, ENCODINGS.length);
  const doc = readFileSync(path.join(ROOT, 'docs/redaction.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| \d+ \| `([^`]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(
    documented,
    ENCODINGS.map((e) => e.name),
  );
});

test('masks a value split across chunks of every size, down to one byte', () => {
  const input = `a${L(v)}b${v.toString('base64')}c${v.toString('hex')}d`;
  for (const size of [1, 2, 3, 5, 8, 13, 64]) {
    const red = createRedactor([needle('K', v)]);
    assert.equal(maskAll(red, input, size), 'a<sesame:K>b<sesame:K>c<sesame:K>d', `chunk size ${size}`);
  }
});

test('holds back at most the longest pattern − 1 bytes, and none when nothing can match', () => {
  const red = createRedactor([needle('K', 'abcdefgh')], { ansi: false });
  assert.equal(red.push(Buffer.from('xyz: ')).toString(), 'xyz: ');
  const out = red.push(Buffer.from('abcdefg'));
  assert.equal(out.toString(), '');
  assert.equal(red.push(Buffer.from('h!')).toString(), '<sesame:K>!');
  const longest = Math.max(...derivePatterns(Buffer.from('abcdefgh')).map((p) => p.length));
  const big = Buffer.alloc(10_000, 'A');
  const red2 = createRedactor([needle('K', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB')], { ansi: false });
  const got = red2.push(big);
  assert.ok(big.length - got.length <= 100 * 3 + 3 - 1, `held ${big.length - got.length}`);
  assert.ok(longest > 8);
});

test('at one position the longest hit wins; hits do not overlap; leftmost first', () => {
  const red = createRedactor([needle('SHORT', 'secret'), needle('LONG', 'secret-and-more')], { ansi: false });
  assert.equal(maskAll(red, 'secret-and-more secret-and secret'), '<sesame:LONG> <sesame:SHORT>-and <sesame:SHORT>');
  assert.deepEqual(red.counts(), { LONG: 1, SHORT: 2 });
  const red2 = createRedactor([needle('A', 'abcdefgh'), needle('B', 'efghijkl')], { ansi: false });
  assert.equal(maskAll(red2, 'abcdefghijkl'), '<sesame:A>ijkl');
  const red3 = createRedactor([needle('A', 'xxabcdefZZZZ'), needle('B', 'abcdef'), needle('C', 'cdefgh')], { ansi: false });
  assert.equal(maskAll(red3, 'xxabcdefgh', 1), 'xx<sesame:B>gh');
});

test('two names with one value: the first name is the marker', () => {
  const red = createRedactor([needle('FIRST', 'same-value'), needle('SECOND', 'same-value')]);
  assert.equal(maskAll(red, 'same-value'), '<sesame:FIRST>');
});

test('masks a value interleaved with colour codes and keeps the codes after the marker', () => {
  const red = createRedactor([needle('K', 'hunter22')]);
  const out = maskAll(red, 'pw: \x1b[1mhun\x1b[31mter\x1b[0m22\x1b[0m.', 1);
  assert.equal(out, 'pw: \x1b[1m<sesame:K>\x1b[31m\x1b[0m\x1b[0m.');
});

test('masks a value cut by an OSC hyperlink, and a value inside a window title', () => {
  const red = createRedactor([needle('K', 'hunter22')]);
  assert.equal(maskAll(red, 'hun\x1b]8;;https://x.test/\x1b\\ter22'), '<sesame:K>\x1b]8;;https://x.test/\x1b\\');
  const red2 = createRedactor([needle('K', 'hunter22')]);
  assert.equal(maskAll(red2, '\x1b]0;user hunter22\x07$ ', 3), '\x1b]0;user <sesame:K>\x07$ ');
  assert.deepEqual(red2.counts(), { K: 1 });
});

test('an ESC that starts no escape sequence is text, and an unfinished one at the end is flushed as text', () => {
  const red = createRedactor([needle('K', 'hunter22')]);
  assert.equal(maskAll(red, 'a\x1b\x01hunter22 \x1b[12'), 'a\x1b\x01<sesame:K> \x1b[12');
});

test('with ansi: false, escapes are ordinary bytes', () => {
  const red = createRedactor([needle('K', 'hunter22')], { ansi: false });
  assert.equal(maskAll(red, 'hun\x1b[31mter22'), 'hun\x1b[31mter22');
});

test('leaves a value shorter than six bytes alone and names it once', () => {
  const red = createRedactor([needle('PORT', '3000'), needle('PORT', '3000'), needle('TOKEN', 'longer-token')]);
  assert.deepEqual(red.tooShort, ['PORT']);
  assert.equal(maskAll(red, 'PORT=3000 TOKEN=longer-token'), 'PORT=3000 TOKEN=<sesame:TOKEN>');
  const red2 = createRedactor([needle('PIN', '1234')], { minLength: 4 });
  assert.deepEqual(red2.tooShort, []);
  assert.equal(maskAll(red2, 'pin 1234'), 'pin <sesame:PIN>');
});

test('refuses a minimum length below one byte', () => {
  assert.throws(
    () => createRedactor([], { minLength: 0 }),
    (e: unknown) => e instanceof SesameError && e.code === 'INVALID',
  );
});

test('with no needles, bytes pass through unchanged and nothing is held', () => {
  const red = createRedactor([]);
  const bin = Buffer.from([0, 1, 2, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 255]);
  assert.deepEqual(red.push(bin), bin);
  assert.equal(red.flush().length, 0);
});

test('counts hits per key, never the value', () => {
  const red = createRedactor([needle('A', 'aaaaaa-1'), needle('B', 'bbbbbb-2')]);
  maskAll(red, `aaaaaa-1 ${Buffer.from('aaaaaa-1').toString('base64')} bbbbbb-2 none`);
  assert.deepEqual(red.counts(), { A: 2, B: 1 });
  assert.ok(!JSON.stringify(red.counts()).includes('aaaaaa'));
});

test('returns fresh Buffers: wiping the input chunk afterwards does not change the output', () => {
  const red = createRedactor([needle('K', 'hunter22')]);
  const chunk = Buffer.from('hello world, nothing secret here');
  const out = red.push(chunk);
  const copy = Buffer.from(out);
  chunk.fill(0);
  assert.deepEqual(out, copy);
});

test('wipe() zeroes every table of the automaton and refuses further pushes', () => {
  const pats = derivePatterns(Buffer.from('hunter22'));
  const a = buildAutomaton(pats.map((bytes) => ({ bytes, owner: 0 })));
  const tables = [a.row, a.dense, a.single, a.singleChild, a.fail, a.depth, a.maxExt, a.term, a.dictOut, a.hasOut, a.shift];
  assert.ok(tables.some((t) => t.some((x) => x !== 0)));
  a.wipe();
  for (const t of tables) assert.ok(t.every((x) => x === 0));
  const red = createRedactor([needle('K', 'hunter22')]);
  red.push(Buffer.from('xx hunt'));
  red.wipe();
  assert.throws(
    () => red.push(Buffer.from('er22')),
    (e: unknown) => e instanceof SesameError,
  );
});

test('derives every pattern into off-heap arena chunks, and wiping the arena zeroes them', () => {
  const arena = new Arena();
  const pats = derivePatterns(Buffer.from('hunter22-ü'), undefined, arena);
  const chunks = new Set(pats.map((p) => p.buffer));
  assert.ok(chunks.size >= 1 && [...chunks].every((b) => b.byteLength >= 64 * 1024 && b !== Buffer.alloc(1).buffer));
  assert.ok(pats.some((p) => p.includes('hunter22')));
  arena.wipe();
  for (const p of pats) assert.ok(p.every((x) => x === 0));
});

test('more than 64 KiB of escapes behind held text: the text goes out first, in order, and nothing is lost', () => {
  const red = createRedactor([needle('K', 'hunter22')]);
  const escapes = '\x1b[31m'.repeat(20_000);
  const input = `x hunt${escapes}er22 y hunter22 z`;
  const out = maskAll(red, input, 1000);
  assert.equal(out, `x hunt${escapes}er22 y <sesame:K> z`);
});

test('an over-long string control is text, so a value inside it is still masked', () => {
  const red = createRedactor([needle('K', 'hunter22')]);
  const body = 'a'.repeat(5000);
  assert.equal(maskAll(red, `\x1b]0;${body} hunter22\x07`, 777), `\x1b]0;${body} <sesame:K>\x07`);
});

test('a forked redactor shares the tables, keeps its own held bytes and counts, and the tables outlive the first wipe', () => {
  const out = createRedactor([needle('K', 'hunter22')]);
  const err = out.fork();
  assert.equal(out.push(Buffer.from('a hunt')).toString(), 'a ');
  assert.equal(err.push(Buffer.from('b hunter22 c')).toString(), 'b <sesame:K> c');
  assert.equal(out.push(Buffer.from('er22 d')).toString(), '<sesame:K> d');
  assert.deepEqual([out.counts(), err.counts()], [{ K: 1 }, { K: 1 }]);
  out.wipe();
  assert.equal(maskAll(err, 'x hunter22'), 'x <sesame:K>');
  err.wipe();
  assert.throws(
    () => err.push(Buffer.from('x')),
    (e: unknown) => e instanceof SesameError,
  );
  assert.throws(
    () => err.fork(),
    (e: unknown) => e instanceof SesameError,
  );
});
