import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { Debouncer } from './debounce.ts';

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'] }));
afterEach(() => mock.timers.reset());

function recording(windowMs = 100, maxWaitMs = 1000) {
  // Each flush records the clock time it happened at.
  const flushes: number[] = [];
  const debouncer = new Debouncer({ windowMs, maxWaitMs, flush: () => flushes.push(Date.now()) });
  return { debouncer, flushes };
}

test('a burst within the window yields one flush, at the end of the window', () => {
  const { debouncer, flushes } = recording();
  debouncer.push();
  mock.timers.tick(50);
  debouncer.push();
  debouncer.push();
  mock.timers.tick(99);
  assert.deepEqual(flushes, [], 'each push restarts the window');
  mock.timers.tick(1);
  assert.deepEqual(flushes, [150]);
  mock.timers.tick(1000);
  assert.equal(flushes.length, 1);
});

test('pushes after a flush start a new burst', () => {
  const { debouncer, flushes } = recording();
  debouncer.push();
  mock.timers.tick(100);
  debouncer.push();
  mock.timers.tick(100);
  assert.deepEqual(flushes, [100, 200]);
});

test('maxWaitMs bounds how long a continuous burst postpones the flush', () => {
  const { debouncer, flushes } = recording(100, 300);
  for (let t = 0; t < 500; t += 50) {
    debouncer.push();
    mock.timers.tick(50);
  }
  // Pushes every 50 ms never let the 100 ms window close; maxWait flushes at 300 ms anyway.
  assert.deepEqual(flushes, [300]);
  assert.equal(debouncer.pending, 4, 'the pushes at 300..450 ms wait for the next flush');
  mock.timers.tick(100);
  assert.deepEqual(flushes, [300, 600]);
});

test('stop() drops the pending flush and ignores later pushes', () => {
  const { debouncer, flushes } = recording();
  debouncer.push();
  debouncer.stop();
  debouncer.push();
  mock.timers.tick(5000);
  assert.deepEqual(flushes, []);
  assert.equal(debouncer.pending, 0);
});

test('rejects a maxWait shorter than the window', () => {
  assert.throws(() => new Debouncer({ windowMs: 100, maxWaitMs: 50, flush: () => {} }), RangeError);
});
