import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetryableError, ThrottledError } from '../../providers/provider.ts';
import { createMetrics } from '../observe/metrics.ts';
import { callProvider } from './provider-call.ts';

test('callProvider records ok, the typed reason, "aborted" or "error", and passes results and errors through', async () => {
  const metrics = createMetrics();
  const live = new AbortController().signal;
  assert.equal(await callProvider(metrics, 'gcp', 'ensure', live, async () => 'ip'), 'ip');
  await assert.rejects(
    callProvider(metrics, 'gcp', 'ensure', live, async () => {
      throw new ThrottledError('RateLimitExceeded', 'quota');
    }),
    ThrottledError,
  );
  await assert.rejects(
    callProvider(metrics, 'aws', 'updateHosts', live, async () => {
      throw new TypeError('bug');
    }),
    TypeError,
  );
  await assert.rejects(
    callProvider(metrics, 'gcp', 'ensure', live, async () => {
      throw new RetryableError('RateLimitExceeded', 'again');
    }),
  );

  const aborted = AbortSignal.abort();
  await assert.rejects(
    callProvider(metrics, 'aws', 'updateHosts', aborted, async ({ signal }) => signal.throwIfAborted()),
  );

  const calls = await metrics.providerCallsTotal.get();
  const byLabels = Object.fromEntries(
    calls.values.map((v) => [`${v.labels.provider}/${v.labels.operation}/${v.labels.result}`, v.value]),
  );
  assert.deepEqual(byLabels, {
    'gcp/ensure/ok': 1,
    'gcp/ensure/RateLimitExceeded': 2,
    'aws/updateHosts/error': 1,
    'aws/updateHosts/aborted': 1,
  });

  const durations = await metrics.providerCallDuration.get();
  const counts = durations.values.filter((v) => v.metricName === 'drawbridge_provider_call_duration_seconds_count');
  assert.deepEqual(counts.map((v) => [v.labels.provider, v.labels.operation, v.value]).sort(), [
    ['aws', 'updateHosts', 2],
    ['gcp', 'ensure', 3],
  ]);
});
