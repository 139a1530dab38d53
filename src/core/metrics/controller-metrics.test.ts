import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics, queueMetricsHooks } from './controller-metrics.ts';
import { createMetricsPort } from './provider-metrics.ts';

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
    'drawbridge_load_balancer_changes_total',
    'drawbridge_service_writes_total',
    'drawbridge_retained_services',
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

test('a provider registers its own metrics under drawbridge_<provider>_ and can drop a series', async () => {
  const metrics = createMetrics();
  const port = createMetricsPort(metrics.registry, 'metal');
  const gauge = port.gauge({ name: 'pool_addresses_used', help: 'h', labelNames: ['pool'] });
  gauge.set({ pool: 'a' }, 3);
  gauge.set({ pool: 'b' }, 1);
  gauge.remove({ pool: 'a' });
  port.counter({ name: 'calls_total', help: 'h' }).inc();
  const text = await metrics.registry.metrics();
  assert.match(text, /^drawbridge_metal_pool_addresses_used\{pool="b"\} 1$/m);
  assert.doesNotMatch(text, /pool="a"/);
  assert.match(text, /^drawbridge_metal_calls_total 1$/m);
  assert.throws(() => port.counter({ name: 'Bad-Name', help: 'h' }), /must match/);
});
