import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetryAfterError, RetryableError, TerminalError, ThrottledError } from '../../contract/provider.ts';
import { KubeApiError } from '../../lib/kube/api/errors.ts';
import { CONFLICT_RETRY_SECONDS, MIN_RETRY_AFTER_SECONDS, outcomeOf, TERMINAL_RECHECK_SECONDS } from './outcome.ts';

test('each typed provider error maps to its queue behaviour', () => {
  const cases = [
    [new RetryableError('BackendUnavailable', 'reset by peer'), { kind: 'retry' }],
    [new ThrottledError('RateLimitExceeded', 'slow down'), { kind: 'throttled' }],
    [new RetryAfterError('StillProvisioning', 'NLB provisioning', 15), { kind: 'retryAfter', seconds: 15 }],
    [new TerminalError('AddressInUse', '10.0.0.5 is taken'), { kind: 'retryAfter', seconds: 300 }],
  ] as const;
  for (const [error, expected] of cases) {
    assert.deepEqual(outcomeOf(error), expected, error.reason);
  }
  assert.equal(TERMINAL_RECHECK_SECONDS, 300);
});

test('anything untyped is a plain retry', () => {
  for (const error of [new Error('ECONNRESET'), 'a string', undefined, { disposition: 'terminal' }]) {
    assert.deepEqual(outcomeOf(error), { kind: 'retry' });
  }
});

test('a retry-after below the minimum, or not a number, waits the minimum instead of spinning', () => {
  for (const seconds of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.deepEqual(outcomeOf(new RetryAfterError('NotYet', 'x', seconds)), {
      kind: 'retryAfter',
      seconds: MIN_RETRY_AFTER_SECONDS,
    });
  }
});

test('an apiserver conflict (409, a write from a stale cached copy) is retried after a second, not with backoff', () => {
  const conflict = new KubeApiError('PATCH', '/api/v1/namespaces/shop/services/web', 409, { reason: 'Conflict' });
  assert.deepEqual(outcomeOf(conflict), { kind: 'retryAfter', seconds: CONFLICT_RETRY_SECONDS });
  assert.equal(CONFLICT_RETRY_SECONDS, 1);
  assert.deepEqual(outcomeOf(new KubeApiError('PATCH', '/api/v1/namespaces/shop/services/web', 500, {})), {
    kind: 'retry',
  });
});
