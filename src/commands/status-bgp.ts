// The BGP side of `drawbridge status`: which nodes announce a Service's addresses over BGP, and to which peers, as
// the speakers decide it (bgpRoutes, the same pure function they drive their routing engine from). Computed from
// the objects, not read from the speakers: it says what they should be announcing. A cluster without the BGP CRDs
// (404), or a caller who may not read them (403), simply has no BGP in the output.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { bgpRoutes } from '../../providers/metal/model/bgp-announce.ts';
import { parseBgpAdvertisement, parseBgpPeer } from '../../providers/metal/model/bgp-schema.ts';
import {
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
  parsePool,
} from '../../providers/metal/model/schema.ts';
import type { KubeClient } from '../lib/kube/api/client.ts';
import { statusCodeOf } from '../lib/kube/api/errors.ts';
import type { ClusterSnapshot } from './snapshot.ts';

export interface BgpConfig {
  pools: AddressPool[];
  peers: BgpPeer[];
  advertisements: BgpAdvertisement[];
}

/** One node announcing a Service over BGP, and the peers it announces it to (sorted). */
export interface BgpAnnouncer {
  node: string;
  peers: string[];
}

export const NO_BGP: BgpConfig = { pools: [], peers: [], advertisements: [] };

/** The valid pools, peers and advertisements (invalid ones are left out, as the speakers leave them out). */
export async function readBgpConfig(client: KubeClient): Promise<BgpConfig> {
  const [pools, peers, advertisements] = await Promise.all([
    listValid(client, ADDRESS_POOL_PLURAL, (obj) => {
      const parsed = parsePool(obj);
      return parsed.ok ? parsed.pool : undefined;
    }),
    listValid(client, BGP_PEER_PLURAL, (obj) => {
      const parsed = parseBgpPeer(obj);
      return parsed.ok ? parsed.value : undefined;
    }),
    listValid(client, BGP_ADVERTISEMENT_PLURAL, (obj) => {
      const parsed = parseBgpAdvertisement(obj);
      return parsed.ok ? parsed.value : undefined;
    }),
  ]);
  return { pools, peers, advertisements };
}

async function listValid<T>(client: KubeClient, plural: string, parse: (obj: unknown) => T | undefined) {
  try {
    const list = await client.list(`/apis/${ADDRESS_POOL_GROUP}/${ADDRESS_POOL_VERSION}/${plural}`);
    return list.items.flatMap((obj) => parse(obj) ?? []);
  } catch (error) {
    const code = statusCodeOf(error);
    if (code === 404 || code === 403) return [];
    throw error;
  }
}

/** The nodes that announce `svc` over BGP, each with its peers; empty when none does. */
export function bgpAnnouncers(
  svc: V1Service,
  snapshot: ClusterSnapshot,
  config: BgpConfig,
  unhealthyNodes: ReadonlySet<string>,
): BgpAnnouncer[] {
  if (config.peers.length === 0 || config.advertisements.length === 0) return [];
  const policy = svc.spec?.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster';
  const routes = bgpRoutes({
    service: { addresses: (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => i.ip ?? []), policy },
    pools: config.pools,
    advertisements: config.advertisements,
    peers: config.peers,
    nodes: snapshot.nodes,
    readyEndpointNodes: policy === 'Local' ? readyNodes(svc, snapshot.slices) : new Set(),
    unhealthyNodes,
  });
  return [...routes]
    .map(([node, list]) => ({ node, peers: [...new Set(list.flatMap((route) => route.peers))].sort() }))
    .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}

/** "BGP a,b -> tor-a,tor-b", grouping nodes that announce to the same peers. */
export function formatBgp(announcers: readonly BgpAnnouncer[]): string | null {
  const byPeers = new Map<string, string[]>();
  for (const { node, peers } of announcers) {
    const key = peers.join(',');
    byPeers.set(key, [...(byPeers.get(key) ?? []), node]);
  }
  const groups = [...byPeers].map(([peers, nodes]) => `BGP ${nodes.join(',')} -> ${peers}`);
  return groups.length === 0 ? null : groups.join('; ');
}

// As the speakers read EndpointSlices (src/speaker/cache.ts): ready, or serving while terminating.
function readyNodes(svc: V1Service, slices: readonly V1EndpointSlice[]): Set<string> {
  const ready = new Set<string>();
  for (const slice of slices) {
    if (slice.metadata?.namespace !== svc.metadata?.namespace) continue;
    if (slice.metadata?.labels?.['kubernetes.io/service-name'] !== svc.metadata?.name) continue;
    for (const endpoint of slice.endpoints ?? []) {
      const ok = endpoint.conditions?.ready !== false || endpoint.conditions?.serving === true;
      if (ok && endpoint.nodeName) ready.add(endpoint.nodeName);
    }
  }
  return ready;
}
