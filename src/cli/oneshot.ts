// A provider driven once from the command line (plan, gc): the same definition, configuration schema and
// ownership rules as the controller, against a snapshot of the cluster instead of live caches.
import type { KubeConfig, V1Service } from '@kubernetes/client-node';
import { providerDefinition } from '../../providers/index.ts';
import type { Provider } from '../../providers/provider.ts';
import { OwnedServiceIndex } from '../controller/ownership.ts';
import { parseProviderConfig } from '../controller/provider-config.ts';
import { Reconciler } from '../controller/reconcile.ts';
import { serviceKey } from '../desired/keys.ts';
import { createLogger } from '../observe/logging.ts';
import { createMetrics } from '../observe/metrics.ts';
import { createMetricsPort } from '../observe/provider-metrics.ts';
import type { ClusterSnapshot } from './snapshot.ts';

export interface OneShotOptions {
  provider: string;
  providerConfig: Record<string, unknown>;
  clusterName: string;
  loadBalancerClass?: string;
  ownClassless: boolean;
}

export interface OneShot {
  provider: Provider;
  /** Decides for a Service exactly as the controller does (serve, cleanUp, retain, ignore). */
  reconciler: Reconciler;
  settings: { clusterName: string; loadBalancerClass: string };
  stop(): Promise<void>;
}

export async function openProvider(
  options: OneShotOptions,
  kubeConfig: KubeConfig,
  snapshot: ClusterSnapshot,
  signal: AbortSignal,
): Promise<OneShot> {
  const definition = providerDefinition(options.provider);
  const config = parseProviderConfig(definition, options.providerConfig);
  const settings = {
    provider: options.provider,
    clusterName: options.clusterName,
    loadBalancerClass: options.loadBalancerClass ?? `drawbridge.io/${options.provider}`,
    ownClassless: options.ownClassless,
  };
  const byKey = new Map(snapshot.services.map((s) => [serviceKey(s), s]));
  const index = new OwnedServiceIndex(
    (key) => byKey.get(key),
    () => snapshot.services,
  );
  const log = createLogger({ level: 'warn' });
  const metrics = createMetrics();
  const provider = await definition.create(
    {
      clusterName: settings.clusterName,
      loadBalancerClass: settings.loadBalancerClass,
      kubeConfig,
      services: index,
      requeue: () => {},
      events: { record: () => {} }, // a one-shot verb records nothing on anyone's objects
      log,
      metrics: createMetricsPort(metrics.registry, options.provider),
    },
    config,
  );
  const refuse = async (): Promise<never> => {
    throw new Error('a one-shot verb never writes to Services');
  };
  const reconciler = new Reconciler({
    config: settings,
    provider,
    writer: { setFinalizers: refuse, setIngress: refuse },
    events: { record: () => {} },
    log,
    metrics,
    view: {
      service: (namespace, name) => byKey.get(`${namespace}/${name}`),
      nodes: () => snapshot.nodes,
      endpointSlices: (namespace, name) =>
        snapshot.slices.filter(
          (s) => s.metadata?.namespace === namespace && s.metadata?.labels?.['kubernetes.io/service-name'] === name,
        ),
    },
  });
  for (const svc of snapshot.services) index.upsert(svc as V1Service, reconciler.owns(svc));
  await provider.start?.({ signal });
  return { provider, reconciler, settings, stop: async () => provider.stop?.() };
}
