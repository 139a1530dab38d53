// Every metric the controller's core exports (a provider's own come through provider-metrics.ts; the speaker's are
// src/speaker/metrics.ts), on a Registry of its own (not prom-client's global one), so tests and embedded uses can
// create several without "already registered" clashes.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const PREFIX = 'drawbridge_';

// Buckets sized to what each thing takes: reconciles include cloud round trips (seconds to minutes for a
// first GCE/AWS create); queue waits range from immediate to a full 5-minute backoff; single API calls are fast.
const RECONCILE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const QUEUE_WAIT_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];
const PROVIDER_CALL_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface Metrics {
  registry: Registry;
  reconcileTotal: Counter<'provider' | 'outcome'>;
  reconcileDuration: Histogram<'provider' | 'outcome'>;
  queueDepth: Gauge;
  queueWait: Histogram;
  providerCallsTotal: Counter<'provider' | 'operation' | 'result'>;
  providerCallDuration: Histogram<'provider' | 'operation'>;
  /** Provider calls abandoned at --provider-call-timeout (also counted in providerCallsTotal, result ProviderCallTimeout). */
  providerCallTimeouts: Counter<'provider' | 'operation'>;
  /** 1 healthy, 0 not. */
  nodeHealth: Gauge<'node'>;
  /** Provider operations that changed something in the provider (ensure/updateHosts/ensureDeleted). */
  loadBalancerChanges: Counter<'provider' | 'operation'>;
  /** Writes to Services: finalizer (with the owner annotation) and status. */
  serviceWrites: Counter<'write'>;
  /** Services kept as they are though no longer served (see the --own-classless note in the README). */
  retainedServices: Gauge;
  /** Events written to the apiserver ('create' a new Event, 'patch' a repeat's count). */
  eventsWritten: Counter<'verb'>;
  /** Events not written: 'rate-limited' (per-object spam filter), 'queue-full', 'write-failed'. */
  eventsDropped: Counter<'reason'>;
  /** 1 while this identity holds the leader lease, 0 otherwise. */
  leader: Gauge<'identity'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    reconcileTotal: new Counter({
      name: `${PREFIX}reconcile_total`,
      help: 'Reconciles of a Service, by provider and outcome.',
      labelNames: ['provider', 'outcome'] as const,
      registers,
    }),
    reconcileDuration: new Histogram({
      name: `${PREFIX}reconcile_duration_seconds`,
      help: 'Time one reconcile of a Service took, by provider and outcome.',
      labelNames: ['provider', 'outcome'] as const,
      buckets: RECONCILE_BUCKETS,
      registers,
    }),
    queueDepth: new Gauge({
      name: `${PREFIX}queue_depth`,
      help: 'Service keys waiting for a worker.',
      registers,
    }),
    queueWait: new Histogram({
      name: `${PREFIX}queue_wait_seconds`,
      help: 'Time a Service key waited in the queue before a worker took it.',
      buckets: QUEUE_WAIT_BUCKETS,
      registers,
    }),
    providerCallsTotal: new Counter({
      name: `${PREFIX}provider_calls_total`,
      help: "Provider operations, by result ('ok' or the error's reason).",
      labelNames: ['provider', 'operation', 'result'] as const,
      registers,
    }),
    providerCallDuration: new Histogram({
      name: `${PREFIX}provider_call_duration_seconds`,
      help: 'Time one provider operation took.',
      labelNames: ['provider', 'operation'] as const,
      buckets: PROVIDER_CALL_BUCKETS,
      registers,
    }),
    providerCallTimeouts: new Counter({
      name: `${PREFIX}provider_call_timeouts_total`,
      help: 'Provider operations abandoned at --provider-call-timeout (their signal aborted, the key retried with backoff).',
      labelNames: ['provider', 'operation'] as const,
      registers,
    }),
    nodeHealth: new Gauge({
      name: `${PREFIX}node_health`,
      help: 'Node health as probed by Drawbridge: 1 healthy, 0 not.',
      labelNames: ['node'] as const,
      registers,
    }),
    loadBalancerChanges: new Counter({
      name: `${PREFIX}load_balancer_changes_total`,
      help: 'Provider operations that changed a load balancer (a converged one that needed nothing is not counted).',
      labelNames: ['provider', 'operation'] as const,
      registers,
    }),
    serviceWrites: new Counter({
      name: `${PREFIX}service_writes_total`,
      help: "Writes the controller made to Services: 'finalizer' (finalizer + owner annotation) or 'status'.",
      labelNames: ['write'] as const,
      registers,
    }),
    retainedServices: new Gauge({
      name: `${PREFIX}retained_services`,
      help: 'Services that carry our finalizer and a load balancer but are no longer served (left as they are).',
      registers,
    }),
    eventsWritten: new Counter({
      name: `${PREFIX}events_written_total`,
      help: "Kubernetes Events written: 'create' for a new Event, 'patch' for a repeat's count.",
      labelNames: ['verb'] as const,
      registers,
    }),
    eventsDropped: new Counter({
      name: `${PREFIX}events_dropped_total`,
      help: 'Kubernetes Events not written, by reason: rate-limited, queue-full, write-failed.',
      labelNames: ['reason'] as const,
      registers,
    }),
    leader: new Gauge({
      name: `${PREFIX}leader`,
      help: 'Whether this identity holds the leader lease (1) or not (0).',
      labelNames: ['identity'] as const,
      registers,
    }),
  };
}

/** The WorkQueue's onMetrics hooks, feeding queue_depth and queue_wait_seconds. */
export function queueMetricsHooks(metrics: Metrics): { waited(ms: number): void; depth(n: number): void } {
  return {
    waited: (ms) => metrics.queueWait.observe(ms / 1000),
    depth: (n) => metrics.queueDepth.set(n),
  };
}
