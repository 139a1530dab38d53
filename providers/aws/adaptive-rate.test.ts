import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdaptiveRate } from './adaptive-rate.ts';

test('one decrease per window, additive increase back to the cap; the rate is reported on every change', () => {
  let now = 0;
  const seen: number[] = [];
  const rate = new AdaptiveRate(
    10,
    (r) => seen.push(r),
    () => now,
  );
  assert.equal(rate.rate, 10);
  rate.throttle();
  rate.throttle(); // same window: one signal
  assert.equal(rate.rate, 7);
  now = 1000;
  rate.throttle();
  assert.ok(Math.abs(rate.rate - 4.9) < 1e-9);
  // About alpha (cap/4 = 2.5) per second of successes at the current rate.
  for (let i = 0; i < 5; i++) rate.success();
  assert.ok(rate.rate > 7 && rate.rate < 7.6, String(rate.rate));
  for (let i = 0; i < 100; i++) rate.success();
  assert.equal(rate.rate, 10, 'never above the cap');
  assert.equal(seen.at(-1), 10);
});

test('a steady 20 % of throttles holds the rate near the cap rather than driving it to the floor', () => {
  let now = 0;
  const rate = new AdaptiveRate(
    10,
    () => {},
    () => now,
  );
  let sum = 0;
  let samples = 0;
  // 60 s of requests at the allowed rate, every fifth one throttled.
  for (let n = 0; now < 60_000; n++) {
    if (n % 5 === 4) rate.throttle();
    else rate.success();
    now += 1000 / rate.rate;
    if (now > 10_000) {
      sum += rate.rate;
      samples++;
    }
  }
  assert.ok(sum / samples > 6, `mean rate ${sum / samples}`);
});
