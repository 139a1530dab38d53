import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetryableError, ThrottledError } from '../../contract/provider.ts';
import { createMetrics } from '../metrics/controller-metrics.ts';
import { outcomeOf } from './outcome.ts';
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

test('a call past its deadline: signal aborted, a retryable ProviderCallTimeout at once, counted', async () => {
  const metrics = createMetrics();
  let seen: AbortSignal | undefined;
  // A provider that ignores its signal entirely: the worker is released anyway.
  const hung = callProvider(
    metrics,
    'fake',
    'ensure',
    new AbortController().signal,
    ({ signal }) => {
      seen = signal;
      return new Promise<string>(() => {});
    },
    50,
  );
  const error = await hung.catch((e: unknown) => e);
  assert.ok(error instanceof RetryableError && error.reason === 'ProviderCallTimeout', String(error));
  assert.equal(seen?.aborted, true, "the call's signal was aborted");
  assert.deepEqual(outcomeOf(error), { kind: 'retry' }, 'retried with backoff');
  // A call within its deadline is untouched.
  assert.equal(
    await callProvider(metrics, 'fake', 'ensure', new AbortController().signal, async () => 'ok', 5000),
    'ok',
  );
  const timeouts = (await metrics.providerCallTimeouts.get()).values.map((v) => [v.labels.operation, v.value]);
  assert.deepEqual(timeouts, [['ensure', 1]]);
  const results = (await metrics.providerCallsTotal.get()).values.map((v) => [v.labels.result, v.value]).sort();
  assert.deepEqual(results, [
    ['ProviderCallTimeout', 1],
    ['ok', 1],
  ]);
});
