import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetryableError, ThrottledError } from '../../providers/provider.ts';
import { createMetrics, queueMetricsHooks, timeProviderCall } from './metrics.ts';

test('registers every drawbridge family plus the default process metrics, on its own registry', async () => {
  const metrics = createMetrics();
  const other = createMetrics(); // a second registry must not clash with the first
  assert.notEqual(metrics.registry, other.registry);

  metrics.nodeHealth.set({ node: 'node-a' }, 1);
  metrics.leader.set({ identity: 'pod-1' }, 1);
  const names = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  for (const name of [
    'drawbridge_reconcile_total',
    'drawbridge_reconcile_duration_seconds',
    'drawbridge_queue_depth',
    'drawbridge_queue_wait_seconds',
    'drawbridge_provider_calls_total',
    'drawbridge_provider_call_duration_seconds',
    'drawbridge_node_health',
    'drawbridge_pool_addresses_total',
    'drawbridge_pool_addresses_used',
    'drawbridge_leader',
    'process_cpu_user_seconds_total',
    'nodejs_eventloop_lag_seconds',
  ]) {
    assert.ok(names.has(name), `missing ${name}`);
  }
  const text = await metrics.registry.metrics();
  assert.match(text, /^drawbridge_node_health\{node="node-a"\} 1$/m);
  assert.match(text, /^drawbridge_leader\{identity="pod-1"\} 1$/m);
});

test('timeProviderCall records ok, the typed reason, or "error", and passes results and errors through', async () => {
  const metrics = createMetrics();
  assert.equal(await timeProviderCall(metrics, 'gcp', 'ensure', async () => 'ip'), 'ip');
  await assert.rejects(
    timeProviderCall(metrics, 'gcp', 'ensure', async () => {
      throw new ThrottledError('RateLimitExceeded', 'quota');
    }),
    ThrottledError,
  );
  await assert.rejects(
    timeProviderCall(metrics, 'aws', 'updateHosts', async () => {
      throw new TypeError('bug');
    }),
    TypeError,
  );
  await assert.rejects(
    timeProviderCall(metrics, 'gcp', 'ensure', async () => {
      throw new RetryableError('RateLimitExceeded', 'again');
    }),
  );

  const calls = await metrics.providerCallsTotal.get();
  const byLabels = Object.fromEntries(
    calls.values.map((v) => [`${v.labels.provider}/${v.labels.operation}/${v.labels.result}`, v.value]),
  );
  assert.deepEqual(byLabels, {
    'gcp/ensure/ok': 1,
    'gcp/ensure/RateLimitExceeded': 2,
    'aws/updateHosts/error': 1,
  });

  const durations = await metrics.providerCallDuration.get();
  const counts = durations.values.filter((v) => v.metricName === 'drawbridge_provider_call_duration_seconds_count');
  assert.deepEqual(counts.map((v) => [v.labels.provider, v.labels.operation, v.value]).sort(), [
    ['aws', 'updateHosts', 1],
    ['gcp', 'ensure', 3],
  ]);
});

test('queueMetricsHooks feeds queue depth and wait (ms to seconds)', async () => {
  const metrics = createMetrics();
  const hooks = queueMetricsHooks(metrics);
  hooks.depth(7);
  hooks.waited(1500);
  const text = await metrics.registry.metrics();
  assert.match(text, /^drawbridge_queue_depth 7$/m);
  assert.match(text, /^drawbridge_queue_wait_seconds_sum 1\.5$/m);
  assert.match(text, /^drawbridge_queue_wait_seconds_count 1$/m);
});
