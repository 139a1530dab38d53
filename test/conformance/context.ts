// A ProviderContext for running a provider outside the controller (conformance runs, unit tests): an owned-Service
// index the test fills, Events and requeues recorded in arrays, a silent logger, and a real metrics registry.
import { KubeConfig, type V1Service } from '@kubernetes/client-node';
import type { ObjectRef, ProviderContext } from '../../src/contract/provider.ts';
import { OwnedServiceIndex } from '../../src/core/controller/ownership.ts';
import { createMetrics, type Metrics } from '../../src/core/metrics/controller-metrics.ts';
import { createMetricsPort } from '../../src/core/metrics/provider-metrics.ts';
import type { KubeClient } from '../../src/lib/kube/api/client.ts';
import { kubeClientOf } from '../../src/lib/kube/api/source.ts';
import { createLogger } from '../../src/lib/observe/logging.ts';
import { serviceKey } from '../../src/lib/service/keys.ts';

export interface RecordedEvent {
  target: ObjectRef;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface TestContext {
  context: ProviderContext;
  index: OwnedServiceIndex;
  /** Every Service the test put in the "cache", by key. */
  services: Map<string, V1Service>;
  events: RecordedEvent[];
  requeued: string[];
  metrics: Metrics;
}

export function testContext(provider: string, kubeConfig: KubeConfig = new KubeConfig()): TestContext {
  const services = new Map<string, V1Service>();
  const index = new OwnedServiceIndex(
    (key) => services.get(key),
    () => [...services.values()],
  );
  const events: RecordedEvent[] = [];
  const requeued: string[] = [];
  const metrics = createMetrics();
  return {
    index,
    services,
    events,
    requeued,
    metrics,
    context: {
      clusterName: 'conformance',
      loadBalancerClass: `drawbridge.io/${provider}`,
      // Most providers under test never talk to an apiserver: with no KubeConfig given, any use says so.
      kube: kubeConfig.getCurrentContext() ? kubeClientOf(kubeConfig) : noApiserver(),
      services: index,
      requeue: (keys) => requeued.push(...keys),
      events: { record: (target, type, reason, message) => void events.push({ target, type, reason, message }) },
      log: createLogger({ level: 'silent' }),
      metrics: createMetricsPort(metrics.registry, provider),
    },
  };
}

/** Puts a Service in the test's cache and index, as the controller's informer would. */
export function putService(t: TestContext, svc: V1Service, owned = true): void {
  t.services.set(serviceKey(svc), svc);
  t.index.upsert(svc, owned);
}

/** A KubeClient stand-in for contexts without an apiserver: passing it around is fine, calling it throws. */
function noApiserver(): KubeClient {
  return new Proxy({} as KubeClient, {
    get(_target, property) {
      if (property === 'then') return undefined; // not a thenable
      throw new Error(`this test context has no apiserver (KubeClient.${String(property)} was used)`);
    },
  });
}
