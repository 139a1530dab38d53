import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LruMap } from './lru.ts';

test('beyond capacity the least recently set key goes; setting a key again makes it the most recent', () => {
  const lru = new LruMap<string, number>(3);
  lru.set('a', 1);
  lru.set('b', 2);
  lru.set('c', 3);
  lru.set('a', 10); // used again: now b is the oldest
  lru.set('d', 4);
  assert.equal(lru.size, 3);
  assert.equal(lru.peek('b'), undefined);
  assert.deepEqual([...lru.values()], [3, 10, 4]);
  assert.equal(lru.delete('c'), true);
  assert.equal(lru.delete('c'), false);
  assert.equal(lru.size, 2);
});
