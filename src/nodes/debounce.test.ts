import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { Debouncer } from './debounce.ts';

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

function recording(windowMs = 100, maxWaitMs = 1000) {
  const flushes: string[][] = [];
  const debouncer = new Debouncer<string>({
    windowMs,
    maxWaitMs,
    flush: (items) => flushes.push([...items].sort()),
  });
  return { debouncer, flushes };
}

test('a burst within the window yields one flush with the union of items', () => {
  const { debouncer, flushes } = recording();
  debouncer.push('node-a');
  mock.timers.tick(50);
  debouncer.push('node-b');
  debouncer.push('node-a');
  mock.timers.tick(99);
  assert.deepEqual(flushes, [], 'each push restarts the window');
  mock.timers.tick(1);
  assert.deepEqual(flushes, [['node-a', 'node-b']]);
  mock.timers.tick(1000);
  assert.equal(flushes.length, 1);
});

test('pushes after a flush start a new burst', () => {
  const { debouncer, flushes } = recording();
  debouncer.push('node-a');
  mock.timers.tick(100);
  debouncer.push('node-c');
  mock.timers.tick(100);
  assert.deepEqual(flushes, [['node-a'], ['node-c']]);
});

test('maxWaitMs bounds how long a continuous burst postpones the flush', () => {
  const { debouncer, flushes } = recording(100, 300);
  for (let t = 0; t < 500; t += 50) {
    debouncer.push(`node-${t}`);
    mock.timers.tick(50);
  }
  // Pushes every 50 ms never let the 100 ms window close; the flush at 300 ms takes what came before it.
  assert.deepEqual(flushes, [['node-0', 'node-100', 'node-150', 'node-200', 'node-250', 'node-50']]);
  assert.equal(debouncer.pending, 4);
  mock.timers.tick(100);
  assert.equal(flushes.length, 2);
  assert.deepEqual(flushes[1], ['node-300', 'node-350', 'node-400', 'node-450']);
});

test('stop() drops the pending flush and ignores later pushes', () => {
  const { debouncer, flushes } = recording();
  debouncer.push('node-a');
  debouncer.stop();
  debouncer.push('node-b');
  mock.timers.tick(5000);
  assert.deepEqual(flushes, []);
  assert.equal(debouncer.pending, 0);
});

test('rejects a maxWait shorter than the window', () => {
  assert.throws(() => new Debouncer({ windowMs: 100, maxWaitMs: 50, flush: () => {} }), RangeError);
});
