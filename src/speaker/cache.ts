// The speaker's own view of the cluster: Services, AddressPools, EndpointSlices and Nodes from its own informers,
// and the BGP objects (BGPPeers, BGPAdvertisements, BFDProfiles, and the Secrets of its own namespace for peer
// passwords). When the apiserver goes away the informers keep their last contents (and keep retrying), so the
// speaker goes on answering from what it last knew: a control-plane outage must not take traffic down.
import { existsSync, readFileSync } from 'node:fs';
import type { KubernetesObject, V1EndpointSlice, V1Node, V1Secret, V1Service } from '@kubernetes/client-node';
import { parseBfdProfile, parseBgpAdvertisement, parseBgpPeer } from '../../providers/metal/model/bgp-schema.ts';
import {
  BFD_PROFILE_PLURAL,
  type BfdProfile,
  BGP_ADVERTISEMENT_PLURAL,
  BGP_PEER_PLURAL,
  type BgpAdvertisement,
  type BgpPeer,
} from '../../providers/metal/model/bgp-types.ts';
import {
  ADDRESS_POOL_GROUP,
  ADDRESS_POOL_PLURAL,
  ADDRESS_POOL_VERSION,
  type AddressPool,
} from '../../providers/metal/model/pool.ts';
import { type Problem, parsePool } from '../../providers/metal/model/schema.ts';
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
  /** One Node as last seen (the BGP side reads this node's labels and eligibility). */
  node(name: string): V1Node | undefined;
  service(key: string): V1Service | undefined;
  /** The valid BGPPeers, BGPAdvertisements and BFDProfiles (invalid ones are left out, reported once to onInvalid). */
  bgpPeers(): BgpPeer[];
  bgpAdvertisements(): BgpAdvertisement[];
  bfdProfiles(): BfdProfile[];
  /** The peer's TCP MD5 password from its passwordSecret in the speaker's namespace; undefined when none or missing. */
  bgpPassword(peer: BgpPeer): string | undefined;
  /** Fires on a change of any of the objects above. */
  onChange(listener: () => void): void;
  /** Starts the informers; does not wait for them (an unreachable apiserver must not hold the speaker up). */
  start(): void;
  /** Services, Nodes, EndpointSlices and AddressPools are listed (what L2 needs; the BGP kinds are optional CRDs). */
  readonly synced: boolean;
  /** The BGP kinds and Secrets are listed too. */
  readonly bgpSynced: boolean;
  stop(): Promise<void>;
}

export interface SpeakerCacheOptions {
  /**
   * Where peers' passwordSecrets are read: the speaker's own namespace and no other (least privilege). Default: the
   * pod's namespace (its service account's namespace file); outside a pod, none, and no peer has a password.
   */
  secretNamespace?: string;
  /** Told once per version of an invalid BGP object, which the speaker then ignores. */
  onInvalid?: (kind: string, name: string, problems: Problem[]) => void;
}

const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function podNamespace(): string | undefined {
  return existsSync(SERVICE_ACCOUNT_NAMESPACE_FILE)
    ? readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, 'utf8').trim()
    : undefined;
}

export function createSpeakerCache(
  kube: KubeSource,
  onError: (what: string, error: unknown) => void,
  loadBalancerClass: string,
  options: SpeakerCacheOptions = {},
): SpeakerCache {
  const client = kubeClientOf(kube);
  const informer = <T extends KubernetesObject>(path: string, transform?: (obj: T) => T, quietRetries = false) => {
    // The BGP CRDs need not be installed (an L2-only cluster): say so once, not at every retry.
    let failing = false;
    const inf = resilientInformer<T>({
      client,
      path,
      transform,
      onError: (error) => {
        if (quietRetries && failing) return;
        failing = true;
        onError(path, error);
      },
      maxBackoffMs: 5000,
    });
    for (const verb of ['add', 'update', 'delete'] as const) inf.on(verb, () => (failing = false));
    return inf;
  };
  const services = informer<V1Service>('/api/v1/services', slimObject);
  const nodes = informer<V1Node>('/api/v1/nodes', slimNode);
  const slices = informer<V1EndpointSlice>('/apis/discovery.k8s.io/v1/endpointslices', slimObject);
  const pools = informer<KubernetesObject>(
    `/apis/${ADDRESS_POOL_GROUP}/${ADDRESS_POOL_VERSION}/${ADDRESS_POOL_PLURAL}`,
    slimObject,
  );
  const crd = (plural: string) =>
    informer<KubernetesObject>(`/apis/${ADDRESS_POOL_GROUP}/${ADDRESS_POOL_VERSION}/${plural}`, slimObject, true);
  const peers = crd(BGP_PEER_PLURAL);
  const advertisements = crd(BGP_ADVERTISEMENT_PLURAL);
  const profiles = crd(BFD_PROFILE_PLURAL);
  const secretNamespace = options.secretNamespace ?? podNamespace();
  const secrets =
    secretNamespace === undefined
      ? undefined
      : informer<V1Secret>(`/api/v1/namespaces/${encodeURIComponent(secretNamespace)}/secrets`, slimObject);
  const l2 = [services, nodes, slices, pools] as ResilientInformer<KubernetesObject>[];
  const bgp = [peers, advertisements, profiles, ...(secrets ? [secrets] : [])] as ResilientInformer<KubernetesObject>[];
  const all = [...l2, ...bgp];
  const valid = validOnly(options.onInvalid);
  const listeners: Array<() => void> = [];
  for (const inf of all) for (const verb of ['add', 'update', 'delete'] as const) inf.on(verb, () => notify());
  const notify = () => {
    for (const listener of listeners) listener();
  };

  const ours = (svc: V1Service) => announcedBy(svc, loadBalancerClass);

  // The nodes with a ready endpoint, per Service (namespace/name), from every EndpointSlice in one pass: looked up
  // per Service, each of n Local Services would read all the slices of its namespace (n^2 in a busy namespace).
  const readyNodesByService = (): Map<string, Set<string>> => {
    const ready = new Map<string, Set<string>>();
    for (const slice of slices.list()) {
      const name = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
      if (name === undefined) continue;
      const key = `${slice.metadata?.namespace ?? ''}/${name}`;
      const nodes = ready.get(key) ?? new Set<string>();
      ready.set(key, nodes);
      for (const endpoint of slice.endpoints ?? []) {
        // As kube-proxy decides for Local: ready, or serving while terminating.
        const ok = endpoint.conditions?.ready !== false || endpoint.conditions?.serving === true;
        if (ok && endpoint.nodeName) nodes.add(endpoint.nodeName);
      }
    }
    return ready;
  };

  return {
    services: () => {
      const announced = services.list().filter(ours);
      const ready = announced.some((svc) => svc.spec?.externalTrafficPolicy === 'Local')
        ? readyNodesByService()
        : undefined;
      return announced.map((svc) => {
        const namespace = svc.metadata?.namespace ?? '';
        const name = svc.metadata?.name ?? '';
        const policy = svc.spec?.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster';
        return {
          key: `${namespace}/${name}`,
          addresses: (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : [])),
          policy,
          readyEndpointNodes:
            (policy === 'Local' ? ready?.get(`${namespace}/${name}`) : undefined) ?? new Set<string>(),
        } satisfies AnnouncedService;
      });
    },
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
    node: (name) => nodes.get(name),
    nodeInternalIPs: (name) =>
      (nodes.get(name)?.status?.addresses ?? []).flatMap((a) => (a.type === 'InternalIP' ? [a.address] : [])),
    service: (key) => {
      const [namespace, name] = key.split('/');
      return services.get(name!, namespace);
    },
    bgpPeers: () => valid('BGPPeer', peers.list(), parseBgpPeer),
    bgpAdvertisements: () => valid('BGPAdvertisement', advertisements.list(), parseBgpAdvertisement),
    bfdProfiles: () => valid('BFDProfile', profiles.list(), parseBfdProfile),
    bgpPassword: (peer) => {
      if (!peer.passwordSecret || !secrets) return undefined;
      const data = (secrets.get(peer.passwordSecret.name, secretNamespace) as V1Secret | undefined)?.data;
      const encoded = data?.[peer.passwordSecret.key];
      return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
    },
    onChange: (listener) => listeners.push(listener),
    start: () => {
      for (const inf of all) void inf.start();
    },
    get synced() {
      return l2.every((inf) => inf.synced);
    },
    get bgpSynced() {
      return bgp.every((inf) => inf.synced);
    },
    stop: async () => {
      await Promise.all(all.map((inf) => inf.stop()));
    },
  };
}

/**
 * The parsed objects that are valid; each invalid one is reported once per resourceVersion (the accessors run at
 * every change, and one bad object must not flood the log).
 */
function validOnly(onInvalid: SpeakerCacheOptions['onInvalid']) {
  let reported = new Set<string>();
  return <T>(
    kind: string,
    objects: readonly KubernetesObject[],
    parse: (obj: unknown) => { ok: true; value: T } | { ok: false; problems: Problem[] },
  ): T[] => {
    const values: T[] = [];
    const seen = new Set<string>();
    for (const obj of objects) {
      const parsed = parse(obj);
      if (parsed.ok) {
        values.push(parsed.value);
        continue;
      }
      const key = `${kind}/${obj.metadata?.name}/${obj.metadata?.resourceVersion}`;
      seen.add(key);
      if (!reported.has(key)) onInvalid?.(kind, obj.metadata?.name ?? '', parsed.problems);
    }
    // Keep only this kind's current invalid versions, and the other kinds' as they were.
    reported = new Set([...[...reported].filter((key) => !key.startsWith(`${kind}/`)), ...seen]);
    return values;
  };
}
