import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeIssue, parseDotenv, type DotenvResult } from '../../src/core/vault/dotenv-parse.js';

const parse = (s: string, opts?: { allowEmpty?: boolean }): DotenvResult => parseDotenv(Buffer.from(s, 'utf8'), opts);
const taken = (r: DotenvResult): Record<string, string> => Object.fromEntries(r.entries.map((e) => [e.name, e.value.toString('utf8')]));
const reasons = (r: DotenvResult): string[] => r.issues.map((i) => `${i.line}:${i.reason}`);

test('takes plain, quoted, multi-line and exported values exactly as written', () => {
  const r = parse(
    [
      '# a comment',
      '',
      'A=plain value  ',
      'export B = spaced',
      "C='single $HOME #not-a-comment'",
      'D="double \\"q\\" \\n \\\\ \\x $X"  # trailing comment',
      "E='multi",
      "line'",
      'F="multi\nline two"',
      'G=p@ss=word',
    ].join('\n'),
  );
  assert.deepEqual(r.issues, []);
  assert.deepEqual(taken(r), {
    A: 'plain value',
    B: 'spaced',
    C: 'single $HOME #not-a-comment',
    D: 'double "q" \n \\ \\x $X',
    E: 'multi\nline',
    F: 'multi\nline two',
    G: 'p@ss=word',
  });
});

test('never lets a name collide with Object.prototype', () => {
  const r = parse('__proto__=a\nconstructor=b\ntoString=c\nhasOwnProperty=d\n');
  assert.deepEqual(r.issues, []);
  assert.deepEqual(
    r.entries.map((e) => e.name),
    ['__proto__', 'constructor', 'toString', 'hasOwnProperty'],
  );
});

test('reports every ambiguous line by number and reason', () => {
  const r = parse(['K=1', 'D=p@ss#word', 'ключ=4', 'just text', 'K=2', 'E=', 'B=`x`', "Q='a' tail", 'U="open'].join('\n'));
  assert.deepEqual(reasons(r), [
    '1:duplicate',
    '2:hash-in-unquoted',
    '3:invalid-name',
    '4:no-equals',
    '5:duplicate',
    '6:empty-value',
    '7:backtick-quote',
    '8:text-after-quote',
    '9:unterminated-quote',
  ]);
  assert.deepEqual(r.entries, [], 'nothing ambiguous is taken, not even the first of a duplicate');
});

test('never takes a line of an unquoted multi-line PEM as a key, nor its first line as the value', () => {
  const r = parse(['PEM=-----BEGIN KEY-----', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'abcdefgh==', 'abcdefgh=', '-----END KEY-----', 'OK=1'].join('\n'));
  assert.deepEqual(taken(r), { OK: '1' });
  assert.deepEqual(reasons(r), ['1:unquoted-multiline', '2:no-equals', '3:continuation', '4:continuation', '5:no-equals']);
});

test('an unterminated quote stops the parse: no line after it becomes an entry', () => {
  const r = parse('A="never closed\nB=1\nC=2\n');
  assert.deepEqual(r.entries, []);
  assert.deepEqual(reasons(r), ['1:unterminated-quote']);
});

test('empty values are taken only when allowed', () => {
  assert.deepEqual(taken(parse('E=\nQ=""\n', { allowEmpty: true })), { E: '', Q: '' });
  assert.deepEqual(reasons(parse('E=\nQ=""\n')), ['1:empty-value', '2:empty-value']);
});

test('handles CRLF files and a UTF-8 byte-order mark', () => {
  const r = parse('\ufeffA=1\r\nB="x"\r\n');
  assert.deepEqual(r.issues, []);
  assert.deepEqual(taken(r), { A: '1', B: 'x' });
});

test('keeps the line numbers right after multi-line values', () => {
  const r = parse("A='1\n2\n3'\nbad line\n");
  assert.deepEqual(reasons(r), ['4:no-equals']);
});

test('never puts a value or a refused line into an issue', () => {
  const hostile = ['A=sk-live.51H8xYz#frag', 'sk-live.51H8xYz', 'sk-live.51H8xYz=1', 'B="sk-live.51H8xYz" sk-live', 'A=sk-live', "C='sk-live.51H8xYz"].join('\n');
  const r = parse(hostile);
  assert.ok(r.issues.length >= 5);
  for (const is of r.issues) {
    const text = `${describeIssue(is)} ${JSON.stringify(is)}`;
    assert.ok(!/sk-live|51H8/.test(text), text);
  }
});

test('does not modify its input and returns values outside the small-buffer pool', () => {
  const input = Buffer.from('A=value\n');
  const copy = Buffer.from(input);
  const r = parseDotenv(input);
  assert.deepEqual(input, copy);
  assert.notEqual(r.entries[0]!.value.buffer, input.buffer);
  assert.equal(r.entries[0]!.value.buffer.byteLength, r.entries[0]!.value.length, 'its own allocation (allocUnsafeSlow)');
});

test('property: any value written double-quoted with escapes parses back to the same bytes', () => {
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = 'abc XYZ019#=\'"`$\\\n\r\t-_.@/+é€';
  for (let round = 0; round < 300; round++) {
    const len = 1 + rnd(40);
    let v = '';
    for (let i = 0; i < len; i++) v += alphabet.charAt(rnd(alphabet.length));
    const quotedV = v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
    const r = parse(`K_${round}="${quotedV}"  # c\nNEXT=1\n`);
    assert.deepEqual(r.issues, [], JSON.stringify(v));
    assert.equal(r.entries[0]!.value.toString('utf8'), v);
    assert.equal(r.entries[1]!.name, 'NEXT');
  }
});

test('property: random bytes never throw, and every taken entry has a valid name', () => {
  let seed = 11;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pieces = ['A', 'b_1', '=', '"', "'", '#', ' ', '\n', '\r\n', 'export ', '\\', 'x', '\u00ff', '\0'];
  for (let round = 0; round < 500; round++) {
    let s = '';
    for (let i = rnd(30); i > 0; i--) s += pieces[rnd(pieces.length)] ?? '';
    const r = parse(s);
    for (const e of r.entries) assert.match(e.name, /^[A-Za-z_][A-Za-z0-9_]*$/);
    const names = r.entries.map((e) => e.name);
    assert.equal(new Set(names).size, names.length, 'no duplicate is ever taken');
  }
});
