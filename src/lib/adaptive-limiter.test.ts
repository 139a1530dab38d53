import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdaptiveLimiter } from './adaptive-limiter.ts';

test('a throttle halves the rate once per burst; successes climb back additively to the cap', () => {
  let t = 0;
  const rates: number[] = [];
  const limiter = new AdaptiveLimiter({
    maxRate: 10,
    minRate: 1,
    increase: 1,
    now: () => t,
    onRate: (r) => rates.push(r),
  });
  limiter.throttled();
  limiter.throttled(); // same instant: the same burst
  assert.equal(limiter.rate, 5);
  t += 1000;
  limiter.throttled();
  assert.equal(limiter.rate, 2.5);
  limiter.succeeded(t - 1); // admitted before the cut: says nothing about the new rate
  assert.equal(limiter.rate, 2.5);
  for (let i = 0; i < 20; i++) limiter.succeeded(t + 1);
  assert.equal(limiter.rate, 10);
  assert.deepEqual(rates, [10, 5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10]);
  for (let i = 0; i < 10; i++) {
    t += 10_000;
    limiter.throttled();
  }
  assert.equal(limiter.rate, 1, 'never below minRate');
});

test('calls are paced at the rate; an abort while waiting rejects at once', async () => {
  const limiter = new AdaptiveLimiter({ maxRate: 20, minRate: 1 });
  const start = Date.now();
  const admitted = await Promise.all([0, 1, 2, 3, 4].map(() => limiter.acquire()));
  assert.ok(Date.now() - start >= 190, 'five calls at 20/s take 200 ms (the first at once)');
  assert.ok(admitted[4]! - admitted[0]! >= 199);
  const controller = new AbortController();
  const waiting = limiter.acquire(controller.signal).then(
    () => 'admitted',
    () => 'aborted',
  );
  for (let i = 0; i < 5; i++) void limiter.acquire();
  controller.abort();
  assert.equal(await waiting, 'aborted');
});

test('run reports throttles and successes', async () => {
  const limiter = new AdaptiveLimiter({ maxRate: 1000, minRate: 1, increase: 0 });
  const throttle = Object.assign(new Error('slow down'), { throttle: true });
  await assert.rejects(
    limiter.run(
      () => Promise.reject(throttle),
      (e) => (e as { throttle?: boolean }).throttle === true,
    ),
  );
  assert.equal(limiter.rate, 500);
  assert.equal(
    await limiter.run(
      async () => 7,
      () => false,
    ),
    7,
  );
});
