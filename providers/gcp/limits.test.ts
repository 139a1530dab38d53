// The limiters' handling of GCE throttles: a throttled request is sent again (GCE did not carry it out), a
// sporadic throttle does not cut the adaptive rate, a run of them (a quota really spent) does, and a request
// throttled on every try fails with the throttle after THROTTLE_ATTEMPTS.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRateLimited } from './errors.ts';
import { Limiters, THROTTLE_ATTEMPTS } from './limits.ts';

const CONFIG = { readsPerMinute: 600, writesPerMinute: 600, operationReadsPerMinute: 600, maxConcurrent: 8 };
const throttle = () => Object.assign(new Error('Quota exceeded for quota metric'), { httpStatusCode: 403 });
const live = new AbortController().signal;

test('sporadic throttles (1 in 5) are sent again and leave the rate alone', async () => {
  const limiters = new Limiters(CONFIG);
  let n = 0;
  const answers: string[] = [];
  for (let i = 0; i < 50; i++) {
    answers.push(
      await limiters.run('read', 5, live, async () => {
        if (++n % 5 === 0) throw throttle();
        return 'ok';
      }),
    );
  }
  assert.deepEqual(new Set(answers), new Set(['ok']), 'every call answered');
  assert.equal(limiters.throttleRetries, 12, 'each throttle cost one more request');
  assert.equal(limiters.rate('read'), 600, 'not cut');
  await limiters.stop();
});

test('a spent quota (every answer a throttle) cuts the rate and fails after THROTTLE_ATTEMPTS tries', async () => {
  const limiters = new Limiters(CONFIG);
  let tries = 0;
  await assert.rejects(
    limiters.run('write', 5, live, async () => {
      tries++;
      throw throttle();
    }),
    (e) => isRateLimited(e),
  );
  assert.equal(tries, THROTTLE_ATTEMPTS);
  assert.ok(limiters.rate('write') < 600, `cut to ${limiters.rate('write')}`);
  assert.equal(limiters.rate('read'), 600, 'other families keep theirs');
  await limiters.stop();
});

test('other failures are not sent again', async () => {
  const limiters = new Limiters(CONFIG);
  let tries = 0;
  await assert.rejects(
    limiters.run('write', 5, live, async () => {
      tries++;
      throw Object.assign(new Error('backendError'), { httpStatusCode: 503 });
    }),
    /backendError/,
  );
  assert.equal(tries, 1);
  await limiters.stop();
});
