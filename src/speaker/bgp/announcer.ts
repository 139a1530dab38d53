// The speaker's BGP side: from the cache (Services, pools, the BGP objects, this node's own Node) and this node's
// kube-proxy health, the routes this node announces (providers/metal/model/bgp-announce.ts) and so the FRR state
// it wants (frr-state.ts), handed to the engine on every change, coalesced. Unlike L2 there is no owner: every node
// that may carry a Service's traffic announces it, so neither the membership nor the apiserver is on this path.
import type { V1Node } from '@kubernetes/client-node';
import { type BgpRoute, bgpRoutes, mergeRoutes } from '../../../providers/metal/model/bgp-announce.ts';
import type { BfdProfile, BgpAdvertisement, BgpPeer } from '../../../providers/metal/model/bgp-types.ts';
import type { AddressPool } from '../../../providers/metal/model/pool.ts';
import type { Logger } from '../../lib/observe/logging.ts';
import type { AnnouncedService } from '../table.ts';
import { type BgpEngine, startBgpEngine } from './engine.ts';
import { desiredFrrState } from './frr-state.ts';

/** What the BGP side reads from the speaker's cache (cache.ts), besides what L2 reads. */
export interface BgpInputs {
  bgpPeers(): BgpPeer[];
  bgpAdvertisements(): BgpAdvertisement[];
  bfdProfiles(): BfdProfile[];
  /** The peer's password from its Secret; undefined while unknown. */
  bgpPassword(peer: BgpPeer): string | undefined;
  /** One Node (this node's labels and eligibility). */
  node(name: string): V1Node | undefined;
}

interface Cache extends BgpInputs {
  services(): AnnouncedService[];
  pools(): AddressPool[];
  nodeInternalIPs(name: string): string[];
  onChange(listener: () => void): void;
  readonly synced: boolean;
  readonly bgpSynced: boolean;
}

export interface BgpAnnouncer {
  engine: BgpEngine;
  setNodeHealthy(healthy: boolean): void;
  /** Graceful stop: withdraws every route, waits (at most `timeoutMs`) for the peers to have them gone, stops. */
  stop(timeoutMs: number): Promise<void>;
}

export function startBgpAnnouncer(o: {
  cache: Cache;
  node: string;
  frrSocketDir: string;
  /** Until the first health answer (false when a health URL is checked). */
  nodeHealthy: boolean;
  log: Logger;
}): BgpAnnouncer {
  const { cache, log } = o;
  const engine = startBgpEngine({ socketDir: o.frrSocketDir, log, ready: () => cache.synced && cache.bgpSynced });
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let nodeHealthy = o.nodeHealthy;
  const skipped = new Set<string>();

  const wanted = () => {
    const self = cache.node(o.node);
    const peers = cache.bgpPeers();
    const advertisements = cache.bgpAdvertisements();
    const pools = cache.pools();
    const routes: BgpRoute[][] = [];
    // A Node not known (yet): nothing is announced until the cache has it.
    for (const service of self === undefined ? [] : cache.services()) {
      const perNode = bgpRoutes({
        service,
        pools,
        advertisements,
        peers,
        nodes: [self!],
        readyEndpointNodes: service.readyEndpointNodes,
        unhealthyNodes: nodeHealthy ? new Set() : new Set([o.node]),
      });
      routes.push(perNode.get(o.node) ?? []);
    }
    return desiredFrrState({
      labels: self?.metadata?.labels ?? {},
      nodeIPv4: cache.nodeInternalIPs(o.node).find((ip) => !ip.includes(':')),
      peers,
      bfdProfiles: cache.bfdProfiles(),
      routes: mergeRoutes(routes),
      password: (peer) => cache.bgpPassword(peer),
      skipped: (peer, why) => {
        if (skipped.has(`${peer}/${why}`)) return;
        skipped.add(`${peer}/${why}`);
        log.warn({ peer, why }, 'BGPPeer not used on this node');
      },
    });
  };

  // A burst of cache events (a sync, a rollout) becomes one computation and one engine update.
  const schedule = () => {
    if (stopping || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (!stopping) engine.set(wanted());
    }, 20);
  };
  cache.onChange(schedule);
  schedule();

  return {
    engine,
    setNodeHealthy(healthy) {
      if (healthy === nodeHealthy) return;
      nodeHealthy = healthy;
      log.warn({ healthy }, healthy ? 'node healthy: announcing over BGP' : 'node unhealthy: withdrawing BGP routes');
      schedule();
    },
    async stop(timeoutMs) {
      stopping = true;
      clearTimeout(timer);
      await engine.withdrawAll(timeoutMs);
      engine.stop();
    },
  };
}
