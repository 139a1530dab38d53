import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter, parseWatchEvent } from './watch.ts';

test('lines split across chunks, several in one chunk, blank lines and a last line without a newline', () => {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line));
  splitter.push('{"a":1}\n{"b"');
  assert.deepEqual(lines, ['{"a":1}']);
  splitter.push(':2}\n\n{"c":3}\r\n{"d":');
  splitter.push('4}');
  assert.deepEqual(lines, ['{"a":1}', '{"b":2}', '{"c":3}']);
  splitter.end();
  assert.deepEqual(lines, ['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}']);
});

test('a multi-byte character cut between two chunks comes out whole', () => {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line));
  const bytes = Buffer.from('{"name":"café ✓"}\n');
  const cut = bytes.indexOf(0xc3) + 1; // inside the two bytes of é
  splitter.push(bytes.subarray(0, cut));
  splitter.push(bytes.subarray(cut));
  assert.deepEqual(lines, ['{"name":"café ✓"}']);
});

test('watch events parse; anything else is a clear error', () => {
  const event = parseWatchEvent<{ metadata: { name: string } }>('{"type":"ADDED","object":{"metadata":{"name":"x"}}}');
  assert.equal(event.type, 'ADDED');
  assert.equal(event.object.metadata.name, 'x');
  const gone = parseWatchEvent<{ code: number }>('{"type":"ERROR","object":{"kind":"Status","code":410}}');
  assert.equal(gone.object.code, 410);
  assert.throws(() => parseWatchEvent('{"kind":"Status"}'), /not a watch event/);
  assert.throws(() => parseWatchEvent('{"type":"ADDED"'), SyntaxError);
});
