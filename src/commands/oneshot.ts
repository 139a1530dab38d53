// A provider driven once from the command line (plan, gc): the same definition, configuration schema and
// ownership rules as the controller, against a snapshot of the cluster instead of live caches.
import type { V1Service } from '@kubernetes/client-node';
import { type Command, Option } from 'commander';
import { providerDefinition, providerNames } from '../../providers/index.ts';
import type { LoadBalancerIdentity, Provider } from '../contract/provider.ts';
import { OwnedServiceIndex } from '../core/controller/ownership.ts';
import { Reconciler } from '../core/controller/reconcile.ts';
import { createMetrics } from '../core/metrics/controller-metrics.ts';
import { createMetricsPort } from '../core/metrics/provider-metrics.ts';
import type { KubeClient } from '../lib/kube/api/client.ts';
import { createLogger } from '../lib/observe/logging.ts';
import { serviceKey } from '../lib/service/keys.ts';
import { parseProviderConfig } from './provider-config.ts';
import { addProviderOptions, providerConfigFrom } from './provider-flags.ts';
import { type ClusterSnapshot, loadKubeClientOrFail, takeSnapshot } from './snapshot.ts';

/** The options of every verb that drives a provider once (plan, gc). */
export interface OneShotFlags {
  provider: string;
  kubeconfig?: string;
  clusterName: string;
  loadBalancerClass?: string;
  ownClassless?: boolean;
  providerConfig?: string;
  [providerFlag: string]: unknown;
}

export function addOneShotOptions(command: Command): Command {
  command
    .addOption(new Option('--provider <name>', 'provider adapter').choices([...providerNames]).makeOptionMandatory())
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--cluster-name <name>', 'cluster name the controller runs with', 'drawbridge')
    .option('--load-balancer-class <class>', 'loadBalancerClass served (default: drawbridge.io/<provider>)')
    .option('--own-classless', 'as the controller: also own Services with no loadBalancerClass');
  return addProviderOptions(command);
}

/** Reads the cluster once, opens the provider on it, runs `body`, and always stops the provider. */
export async function withProvider<T>(
  flags: OneShotFlags,
  body: (session: OneShot, snapshot: ClusterSnapshot, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const client = loadKubeClientOrFail(flags.kubeconfig);
  try {
    const providerConfig = providerConfigFrom(flags.provider, flags);
    const snapshot = await takeSnapshot(client, false);
    const abort = new AbortController();
    const options = {
      provider: flags.provider,
      providerConfig,
      clusterName: flags.clusterName,
      loadBalancerClass: flags.loadBalancerClass,
      ownClassless: Boolean(flags.ownClassless),
    };
    const session = await openProvider(options, client, snapshot, abort.signal);
    try {
      return await body(session, snapshot, abort.signal);
    } finally {
      abort.abort();
      await session.stop();
    }
  } finally {
    client.close();
  }
}

/** Load balancers the provider owns whose Service is gone (what the controller collects when it starts leading). */
export async function orphansOf(
  session: OneShot,
  snapshot: ClusterSnapshot,
  signal: AbortSignal,
): Promise<{ owned: number; orphans: LoadBalancerIdentity[] }> {
  const present = new Set(snapshot.services.map((s) => s.metadata?.uid ?? ''));
  const owned = await session.provider.listOwned({ signal });
  return { owned: owned.length, orphans: owned.filter((identity) => identity.uid && !present.has(identity.uid)) };
}

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
  kube: KubeClient,
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
      kube,
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
    events: { record: () => {}, forget: () => {} },
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
