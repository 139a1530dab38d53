// The speaker's own view of the cluster: Services, AddressPools, EndpointSlices and Nodes from its own informers.
// When the apiserver goes away the informers keep their last contents (and keep retrying), so the speaker goes on
// answering from what it last knew: a control-plane outage must not take traffic down.
import type { KubernetesObject, V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import {
  ADDRESS_POOL_GROUP,
  ADDRESS_POOL_PLURAL,
  ADDRESS_POOL_VERSION,
  type AddressPool,
} from '../../providers/metal/model/pool.ts';
import { parsePool } from '../../providers/metal/model/schema.ts';
import { type KubeSource, kubeClientOf } from '../lib/kube/api/source.ts';
import { type ResilientInformer, resilientInformer } from '../lib/kube/informer.ts';
import { slimNode, slimObject } from '../lib/kube/slim.ts';
import { EXCLUDE_FROM_LOAD_BALANCERS_LABEL, nodeEligibility } from '../lib/service/eligibility.ts';
import { announcedBy } from '../lib/service/ownership.ts';
import type { AnnouncedService } from './table.ts';

export const EXCLUDE_LABEL = EXCLUDE_FROM_LOAD_BALANCERS_LABEL;

/**
 * The Nodes that may not announce: exactly those the controller holds ineligible (src/lib/service/eligibility.ts: the
 * exclusion label unless it parses as false, being deleted, marked for deletion by the autoscaler, no address), so
 * the controller and the speakers never disagree about which nodes may carry a Service's traffic.
 */
export function excludedNodeNames(nodes: readonly V1Node[]): Set<string> {
  const excluded = new Set<string>();
  for (const node of nodes) {
    const name = node.metadata?.name;
    if (name && !nodeEligibility(node).eligible) excluded.add(name);
  }
  return excluded;
}
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface SpeakerCache {
  services(): AnnouncedService[];
  pools(): AddressPool[];
  excludedNodes(): Set<string>;
  /** Node InternalIPs, to find the other speakers when nobody has been heard from yet. */
  nodeAddresses(): Map<string, string>;
  /** Every InternalIP of one Node (both families on a dual-stack node); empty for a Node not (yet) known. */
  nodeInternalIPs(name: string): string[];
  service(key: string): V1Service | undefined;
  onChange(listener: () => void): void;
  /** Starts the informers; does not wait for them (an unreachable apiserver must not hold the speaker up). */
  start(): void;
  readonly synced: boolean;
  stop(): Promise<void>;
}

export function createSpeakerCache(
  kube: KubeSource,
  onError: (what: string, error: unknown) => void,
  loadBalancerClass: string,
): SpeakerCache {
  const client = kubeClientOf(kube);
  const informer = <T extends KubernetesObject>(path: string, transform?: (obj: T) => T) =>
    resilientInformer<T>({ client, path, transform, onError: (error) => onError(path, error), maxBackoffMs: 5000 });
  const services = informer<V1Service>('/api/v1/services', slimObject);
  const nodes = informer<V1Node>('/api/v1/nodes', slimNode);
  const slices = informer<V1EndpointSlice>('/apis/discovery.k8s.io/v1/endpointslices', slimObject);
  const pools = informer<KubernetesObject>(
    `/apis/${ADDRESS_POOL_GROUP}/${ADDRESS_POOL_VERSION}/${ADDRESS_POOL_PLURAL}`,
    slimObject,
  );
  const all = [services, nodes, slices, pools] as ResilientInformer<KubernetesObject>[];
  const listeners: Array<() => void> = [];
  for (const inf of all) for (const verb of ['add', 'update', 'delete'] as const) inf.on(verb, () => notify());
  const notify = () => {
    for (const listener of listeners) listener();
  };

  const ours = (svc: V1Service) => announcedBy(svc, loadBalancerClass);

  const readyNodes = (namespace: string, name: string): Set<string> => {
    const ready = new Set<string>();
    for (const slice of slices.list(namespace)) {
      if (slice.metadata?.labels?.[SERVICE_NAME_LABEL] !== name) continue;
      for (const endpoint of slice.endpoints ?? []) {
        // As kube-proxy decides for Local: ready, or serving while terminating.
        const ok = endpoint.conditions?.ready !== false || endpoint.conditions?.serving === true;
        if (ok && endpoint.nodeName) ready.add(endpoint.nodeName);
      }
    }
    return ready;
  };

  return {
    services: () =>
      services
        .list()
        .filter(ours)
        .map((svc) => {
          const namespace = svc.metadata?.namespace ?? '';
          const name = svc.metadata?.name ?? '';
          const policy = svc.spec?.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster';
          return {
            key: `${namespace}/${name}`,
            addresses: (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : [])),
            policy,
            readyEndpointNodes: policy === 'Local' ? readyNodes(namespace, name) : new Set<string>(),
          } satisfies AnnouncedService;
        }),
    pools: () =>
      pools.list().flatMap((obj) => {
        const parsed = parsePool(obj);
        return parsed.ok ? [parsed.pool] : [];
      }),
    excludedNodes: () => excludedNodeNames(nodes.list()),
    nodeAddresses: () => {
      const addresses = new Map<string, string>();
      for (const node of nodes.list()) {
        const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
        if (ip && node.metadata?.name) addresses.set(node.metadata.name, ip);
      }
      return addresses;
    },
    nodeInternalIPs: (name) =>
      (nodes.get(name)?.status?.addresses ?? []).flatMap((a) => (a.type === 'InternalIP' ? [a.address] : [])),
    service: (key) => {
      const [namespace, name] = key.split('/');
      return services.get(name!, namespace);
    },
    onChange: (listener) => listeners.push(listener),
    start: () => {
      for (const inf of all) void inf.start();
    },
    get synced() {
      return all.every((inf) => inf.synced);
    },
    stop: async () => {
      await Promise.all(all.map((inf) => inf.stop()));
    },
  };
}
