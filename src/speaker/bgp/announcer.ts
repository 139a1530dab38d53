// The speaker's BGP side: from the cache (Services, pools, the BGP objects, this node's own Node) and this node's
// kube-proxy health, the routes this node announces (providers/metal/model/bgp-announce.ts) and so the FRR state
// it wants (frr-state.ts), handed to the engine on every change, coalesced. Unlike L2 there is no owner: every node
// that may carry a Service's traffic announces it, so neither the membership nor the apiserver is on this path.
import type { V1Node } from '@kubernetes/client-node';
import { type BgpRoute, bgpRoutes, mergeRoutes } from '../../../providers/metal/model/bgp-announce.ts';
import type { BfdProfile, BgpAdvertisement, BgpPeer } from '../../../providers/metal/model/bgp-types.ts';
import type { AddressPool } from '../../../providers/metal/model/pool.ts';
import type { Logger } from '../../lib/observe/logging.ts';
import { nodeEligibility } from '../../lib/service/eligibility.ts';
import type { AnnouncedService } from '../table.ts';
import { type BgpEngine, startBgpEngine } from './engine.ts';
import { desiredFrrState } from './frr-state.ts';
import { startHeartbeat } from './heartbeat.ts';

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
  /**
   * 'keep': lets the change being applied finish (at most `timeoutMs`) and stops, leaving FRR's state for the next
   * speaker to adopt. 'withdraw': withdraws every route, waits (at most `timeoutMs`) for the peers to have them gone,
   * stops.
   */
  stop(mode: 'keep' | 'withdraw', timeoutMs: number): Promise<void>;
}

export function startBgpAnnouncer(o: {
  cache: Cache;
  node: string;
  frrSocketDir: string;
  /**
   * The node's kube-proxy health; undefined until the first answer, and until then FRR is left as it is (a new
   * speaker would otherwise withdraw what its predecessor announced and announce it again a moment later).
   */
  nodeHealthy: boolean | undefined;
  log: Logger;
  /** Tests: an engine of their own in place of FRR's. */
  engine?: BgpEngine;
}): BgpAnnouncer {
  const { cache, log } = o;
  let nodeHealthy = o.nodeHealthy;
  const engine =
    o.engine ?? startBgpEngine({ socketDir: o.frrSocketDir, log, ready: () => cache.synced && cache.bgpSynced });
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  const heartbeat = startHeartbeat(o.frrSocketDir, log);
  const skipped = new Set<string>();

  // Each Service's routes, kept between computations: a change recomputes only the Services whose own inputs
  // (addresses, policy, ready endpoint nodes) changed, unless something every Service depends on changed (this Node,
  // the pools, peers, advertisements, the node's health), which recomputes them all. With 1,000 Services a full
  // computation takes about 12 ms of the loop on an idle machine, and a churn changes one Service per event.
  let shared = '';
  const perService = new Map<string, { inputs: string; routes: BgpRoute[] }>();

  const wanted = () => {
    const self = cache.node(o.node);
    const peers = cache.bgpPeers();
    const advertisements = cache.bgpAdvertisements();
    const pools = cache.pools();
    // Of this Node, only what bgpRoutes reads: its status heartbeats must not recompute every Service.
    const selfInputs = self === undefined ? null : [self.metadata?.labels ?? {}, nodeEligibility(self).eligible];
    // Pools hold their ranges as bigints, which JSON.stringify refuses.
    const sharedNow = JSON.stringify([selfInputs, peers, advertisements, pools, nodeHealthy === true], (_key, value) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
    if (sharedNow !== shared) {
      shared = sharedNow;
      perService.clear();
    }
    const routes: BgpRoute[][] = [];
    const seen = new Set<string>();
    // A Node not known (yet): nothing is announced until the cache has it.
    for (const service of self === undefined ? [] : cache.services()) {
      seen.add(service.key);
      const inputs = JSON.stringify([
        service.addresses,
        service.policy,
        service.policy === 'Local' ? [...service.readyEndpointNodes].sort() : [],
      ]);
      let known = perService.get(service.key);
      if (known?.inputs !== inputs) {
        const perNode = bgpRoutes({
          service,
          pools,
          advertisements,
          peers,
          nodes: [self!],
          readyEndpointNodes: service.readyEndpointNodes,
          unhealthyNodes: nodeHealthy === true ? new Set() : new Set([o.node]),
        });
        known = { inputs, routes: perNode.get(o.node) ?? [] };
        perService.set(service.key, known);
      }
      routes.push(known.routes);
    }
    for (const key of perService.keys()) if (!seen.has(key)) perService.delete(key);
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

  // A burst of cache events (a sync, a rollout, a churn of Services) becomes one computation and one engine update.
  // The wait is 20 ms, or four times what the last computation took if that is longer, so that however fast the
  // events come the computation holds the loop at most a fifth of the time: the loop also runs the health check and
  // the L2 side, whose timers must not fire late.
  let lastComputeMs = 0;
  const schedule = () => {
    // Nothing is wanted before the node's health is known: the engine keeps what a predecessor configured meanwhile.
    if (stopping || timer !== undefined || nodeHealthy === undefined) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        if (stopping) return;
        // Computed only from a cache that has listed every kind: a state computed earlier would lack Services or
        // peers, and applied to an FRR a predecessor configured it would withdraw them until the next computation.
        // The last kind to list may change nothing (no event follows), so this polls until then.
        if (!cache.synced || !cache.bgpSynced) {
          schedule();
          return;
        }
        const started = performance.now();
        engine.set(wanted());
        lastComputeMs = performance.now() - started;
      },
      Math.max(20, 4 * lastComputeMs),
    );
  };
  cache.onChange(schedule);
  schedule();

  return {
    engine,
    setNodeHealthy(healthy) {
      if (healthy === nodeHealthy) return;
      const first = nodeHealthy === undefined;
      nodeHealthy = healthy;
      if (first) log.info({ healthy }, 'node health known: BGP routes follow it');
      else
        log.warn({ healthy }, healthy ? 'node healthy: announcing over BGP' : 'node unhealthy: withdrawing BGP routes');
      schedule();
    },
    async stop(mode, timeoutMs) {
      stopping = true;
      clearTimeout(timer);
      heartbeat.stop();
      if (mode === 'withdraw') await engine.withdrawAll(timeoutMs);
      else await Promise.race([engine.settled(), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
      engine.stop();
    },
  };
}
