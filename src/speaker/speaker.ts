// Over 300 lines: the one place the speaker's parts (membership, L2 decision and responder, BGP, metrics) meet.
// The speaker: membership decides who is alive, the cache says which addresses are assigned, decide.ts says which
// of them we answer for, and the responder answers for exactly those. Nothing on this path waits for the apiserver:
// the annotation and Event reporting a takeover are written afterwards, best effort (report.ts). With an FRR beside
// it, the BGP side (bgp/announcer.ts) announces the addresses to the routers from the same cache.
import { type KubeSource, kubeClientOf } from '../lib/kube/api/source.ts';
import { parseAddress } from '../lib/net/ip.ts';
import type { Logger } from '../lib/observe/logging.ts';
import type { MetricsSecurity } from '../lib/observe/metrics-security.ts';
import { startObservabilityServer } from '../lib/observe/server.ts';
import { startBgpAnnouncer } from './bgp/announcer.ts';
import { createSpeakerCache } from './cache.ts';
import { decide, type Holdings } from './decide.ts';
import { startEligibility } from './eligibility.ts';
import { Fence } from './fence.ts';
import { type KeyFiles, watchKeyring } from './membership/keys.ts';
import type { MembershipConfig } from './membership/types.ts';
import { formatAddr, parseAddr, startUdpMembership } from './membership/udp.ts';
import { type PartitionState, speakerRegistry } from './metrics.ts';
import { ANNOUNCING_NODE_ANNOTATION, startReporter } from './report.ts';
import { startResponder } from './responder.ts';
import type { AnnouncedService } from './table.ts';

export { ANNOUNCING_NODE_ANNOTATION } from './report.ts';

export interface SpeakerOptions {
  node: string;
  ifname: string;
  /** The apiserver: our client, or a client-node KubeConfig (tests) it is built from. */
  kubeConfig: KubeSource;
  /** Membership: the address to listen on (this node's LAN address) and port; peers to join through. */
  bindHost: string;
  port: number;
  peers: string[];
  /** A new member becomes eligible to announce only after this long in the membership. */
  probationMs: number;
  /** Gratuitous rounds on takeover, this far apart; then one round every repeatMs (0 = never). */
  burstCount: number;
  burstIntervalMs: number;
  repeatMs: number;
  /**
   * The node's kube-proxy health endpoint (kube-proxy serves `http://127.0.0.1:10256/healthz`), checked every
   * `nodeHealthIntervalMs`; undefined: not checked. Two failed checks in a row (an answer other than 2xx, or none
   * within `nodeHealthTimeoutMs`) make this node ineligible: it stops answering and fans that out, so the others take
   * its addresses over through the same rendezvous choice; it becomes eligible again after `probationMs` of passing
   * checks.
   */
  nodeHealthUrl?: string;
  nodeHealthIntervalMs?: number;
  nodeHealthTimeoutMs?: number;
  /** After becoming eligible, wait this long before taking addresses from live owners (default 200 ms). */
  plannedMoveDelayMs?: number;
  /** host:port for /metrics, or undefined for none. */
  metricsAddress?: string;
  /** The class the metal controller serves (its --load-balancer-class). */
  loadBalancerClass: string;
  /** HTTPS and the /metrics access check (src/lib/observe/metrics-security.ts); omitted: plain, open HTTP. */
  metricsSecurity?: MetricsSecurity;
  membership?: Partial<MembershipConfig>;
  /** The membership key files (membership/keys.ts), or 'insecure': unauthenticated datagrams, for labs. */
  membershipKeys: KeyFiles | 'insecure';
  /** The directory of FRR's vty sockets (bgpd.vty, bfdd.vty); undefined: BGP off. */
  frrSocketDir?: string;
  /**
   * At stop, what becomes of this node's BGP routes: 'keep' (the default) leaves FRR as it is for the next speaker to
   * adopt, so an upgrade changes nothing at the routers (FRR runs apart and stops on its own when no speaker comes
   * back, deploy/frr/run); 'withdraw' withdraws them first, for an FRR that stops with the speaker.
   */
  bgpOnStop?: 'keep' | 'withdraw';
  /**
   * At stop, the longest wait (default 3000 ms): for a change to FRR being applied to finish ('keep'), or for the
   * routers to withdraw this node's routes ('withdraw').
   */
  bgpWithdrawTimeoutMs?: number;
  log: Logger;
}

function canonicalIp(text: string): string {
  const parsed = parseAddress(text);
  return parsed.ok ? parsed.address : text;
}

export interface Speaker {
  held(): string[];
  partition(): PartitionState;
  metricsPort?: number;
  stop(): Promise<void>;
}

export async function startSpeaker(o: SpeakerOptions): Promise<Speaker> {
  const { log } = o;
  const client = kubeClientOf(o.kubeConfig);
  const cache = createSpeakerCache(
    client,
    (what, error) =>
      log.warn(
        { informer: what, err: String((error as Error)?.message ?? error) },
        'watch failed; answering from cache',
      ),
    o.loadBalancerClass,
    {
      onInvalid: (kind, name, problems) =>
        log.warn({ kind, name, problems }, `invalid ${kind} ignored (the controller records why on it)`),
    },
  );
  const keys =
    o.membershipKeys === 'insecure'
      ? undefined
      : watchKeyring(
          o.membershipKeys,
          () => log.info('membership keys changed: now signing with the new key'),
          (error) => log.warn({ err: error.message }, 'cannot read the membership keys; keeping the ones in use'),
        );
  // A datagram's sender must send from its Node's InternalIP; a Node the cache does not know (yet: before it has
  // synced, or in a lab without Node objects) may send only from a --peers address (docs/speaker-security.md).
  const peerHosts = new Set(o.peers.map((p) => canonicalIp(parseAddr(p).host)));
  const senderAllowed = (name: string, address: string) => {
    const ips = cache.nodeInternalIPs(name);
    const from = canonicalIp(address);
    return ips.length > 0 ? ips.some((ip) => canonicalIp(ip) === from) : peerHosts.has(from);
  };
  const membership = await startUdpMembership({
    name: o.node,
    host: o.bindHost,
    port: o.port,
    seeds: o.peers,
    auth: keys === undefined ? 'insecure' : { keys: keys.current },
    senderAllowed,
    // With a health endpoint to check, not eligible before its first answer.
    eligible: o.probationMs <= 0 && o.nodeHealthUrl === undefined,
    config: o.membership,
  });
  const machine = membership.machine;
  let holdings: Holdings = {
    partition: 'quorum',
    quorumLostAt: Number.NEGATIVE_INFINITY,
    // When this node last became eligible (decide.ts: planned moves).
    eligibleSince: machine.isEligible() ? performance.now() : Number.NEGATIVE_INFINITY,
    held: new Map(),
  };
  let bursts = 0;
  let apiReachable = false;
  const fence = new Fence();
  let stopped = false;
  const plannedMoveDelayMs = o.plannedMoveDelayMs ?? 200;

  const responder = startResponder({
    ifname: o.ifname,
    owns: (ip) => holdings.held.has(ip),
    onSendError: (error) => log.warn({ err: String(error) }, 'send failed'),
    onSocketLost: ({ socket, reason }) =>
      log.warn({ interface: o.ifname, socket, reason }, 'packet socket lost; reopening once the interface is up'),
    onSocketReopened: (event) => log.warn({ interface: o.ifname, ...event }, 'packet socket reopened'),
  });

  // The cache's inputs are re-read only when it changes; recompute() runs often (quorum depends on time).
  let services: AnnouncedService[] = [];
  let inputs = { pools: cache.pools(), excluded: cache.excludedNodes() };
  // The table changes only with the cache or the membership; the 25 ms timer re-evaluates quorum, not the table.
  let tableVersion = 0;
  // Re-reading the cache and the table costs time in the number of Services (milliseconds with a thousand), so the
  // events of one loop turn (a watch chunk holds many) are read once, at the end of the turn: the busier the loop, the
  // more events one reading covers.
  let cacheReadPending = false;
  cache.onChange(() => {
    if (cacheReadPending) return;
    cacheReadPending = true;
    setImmediate(() => {
      cacheReadPending = false;
      if (stopped) return;
      tableVersion++;
      services = cache.services();
      inputs = { pools: cache.pools(), excluded: cache.excludedNodes() };
      const seeds = [...cache.nodeAddresses()].filter(([n]) => n !== o.node).map(([, ip]) => formatAddr(ip, o.port));
      machine.setSeeds([...new Set([...o.peers, ...seeds])]);
      recompute();
    });
  });

  // BGP (bgp/announcer.ts): every node that may carry a Service's traffic announces its addresses to the routers;
  // no owner and no membership on that side.
  const bgp =
    o.frrSocketDir === undefined
      ? undefined
      : startBgpAnnouncer({
          cache,
          node: o.node,
          frrSocketDir: o.frrSocketDir,
          nodeHealthy: o.nodeHealthUrl === undefined ? true : undefined,
          log,
        });

  const burst = (ip: string) => {
    bursts++;
    let sent = 0;
    const round = () => {
      if (stopped || !holdings.held.has(ip)) return;
      responder.announce(ip);
      if (++sent < o.burstCount) setTimeout(round, o.burstIntervalMs);
    };
    round();
  };

  // Why this member stepped back, last logged: a move with no failure behind it must still say why in the log.
  let steppedBack = { heldDown: false, accused: false };
  const logStepBack = () => {
    const now = { heldDown: machine.isHeldDown(), accused: machine.isAccused() };
    if (now.heldDown === steppedBack.heldDown && now.accused === steppedBack.accused) return;
    if (now.heldDown !== steppedBack.heldDown)
      log.warn(
        { localHealthScore: machine.localHealthScore() },
        now.heldDown
          ? 'stepped back for our own poor health (our loop ran late): the others announce our addresses'
          : 'local health recovered: eligible again',
      );
    if (now.accused && !steppedBack.accused)
      log.warn('accused by another member: refuting, and not answering until the refutation has settled');
    steppedBack = now;
  };

  // Gathers decide()'s inputs and applies its decision.
  function recompute(): void {
    if (stopped) return;
    logStepBack();
    const now = performance.now();
    const q = machine.quorum(now);
    const partition = fence.state(now, q.quorum, holdings.held.keys());
    const decision = decide(
      {
        now,
        self: o.node,
        services,
        ...inputs,
        announcingNode: (key) => cache.service(key)?.metadata?.annotations?.[ANNOUNCING_NODE_ANNOTATION],
        tableVersion,
        eligibleMembers: machine.eligibleMembers(),
        confirmedSince: (since) => machine.confirmedSince(since),
        partition,
        keepable: fence.keepable(),
        plannedMoveDelayMs,
      },
      holdings,
    );
    if (decision.partitionChanged) {
      log.warn({ partition, reachable: q.reachable, reference: q.reference }, 'partition state changed');
    }
    if (decision.checkApi) void checkApi();
    if (decision.confirmSince !== undefined) machine.confirm(decision.confirmSince);
    holdings = decision.next;
    for (const ip of decision.released) {
      responder.unwatch(ip);
      log.info({ address: ip }, 'stopped announcing');
    }
    for (const [ip, keys] of decision.taken) {
      responder.watch(ip);
      burst(ip);
      log.info({ address: ip, services: keys }, 'announcing');
      setImmediate(() => reporter.report(ip, keys));
    }
  }

  const reporter = startReporter({
    client,
    node: o.node,
    service: (key) => cache.service(key),
    holds: (ip) => holdings.held.has(ip),
    log,
  });

  // Whether the apiserver answers: decides isolated (keep what we hold) from minority (stop) when quorum is lost.
  const checkApi = async () => {
    const startedAt = performance.now();
    try {
      await client.version({ timeoutMs: 1000 });
      apiReachable = true;
      fence.apiAnswered(startedAt);
    } catch {
      apiReachable = false;
      fence.apiFailed();
    }
    recompute();
  };
  const apiTimer = setInterval(() => void checkApi(), 1000);
  void checkApi();

  machine.onChange(() => {
    tableVersion++;
    recompute();
  });
  const recomputeTimer = setInterval(recompute, 25);
  const repeatTimer =
    o.repeatMs > 0
      ? setInterval(() => {
          for (const ip of holdings.held.keys()) responder.announce(ip);
        }, o.repeatMs)
      : undefined;
  // Eligible = probation over and the node healthy; the machine fans out every change of it at once.
  const eligibility = startEligibility({
    probationMs: o.probationMs,
    nodeHealthUrl: o.nodeHealthUrl,
    nodeHealthIntervalMs: o.nodeHealthIntervalMs,
    nodeHealthTimeoutMs: o.nodeHealthTimeoutMs,
    failing: (url) => log.warn({ url }, 'node health check failing: leaving eligibility'),
    known: (healthy) => bgp?.setNodeHealthy(healthy),
    changed: (eligible, healthy) => {
      bgp?.setNodeHealthy(healthy);
      if (eligible === machine.isEligible()) return;
      log.warn({ eligible, nodeHealthy: healthy }, 'eligibility changed');
      // Set before the machine's change runs recompute, so that recompute already counts this as a planned move.
      if (eligible) holdings = { ...holdings, eligibleSince: performance.now() };
      machine.setEligible(eligible);
      // After the fan-out, so the members' acks to these pings prove they have read it.
      if (eligible) machine.confirm(holdings.eligibleSince);
    },
  });

  let metricsServer: Awaited<ReturnType<typeof startObservabilityServer>> | undefined;
  if (o.metricsAddress !== undefined) {
    const at = o.metricsAddress.lastIndexOf(':');
    const registry = speakerRegistry({
      requestsSeen: () => responder.counters.framesSeen,
      repliesSent: () => responder.counters.repliesSent,
      gratuitousBursts: () => bursts,
      addressesHeld: () => {
        const ips = [...holdings.held.keys()];
        return {
          IPv4: ips.filter((ip) => !ip.includes(':')).length,
          IPv6: ips.filter((ip) => ip.includes(':')).length,
        };
      },
      members: () => machine.counts(),
      partition: () => holdings.partition,
      apiserverReachable: () => apiReachable,
      membershipDatagrams: () => membership.traffic,
      membershipDropped: () => membership.dropped,
      eligible: () => machine.isEligible(),
      packetSocketReopens: () => responder.counters.reopens,
      ...(bgp === undefined
        ? {}
        : { bgpSessions: () => bgp.engine.sessions(), bgpRejectedLines: () => bgp.engine.commandErrors }),
    });
    metricsServer = await startObservabilityServer({
      host: o.metricsAddress.slice(0, at).replace(/^\[|\]$/g, ''),
      port: Number(o.metricsAddress.slice(at + 1)),
      metrics: { registry },
      isReady: () => cache.synced,
      isHealthy: () => true,
      ...o.metricsSecurity,
    });
  }

  cache.start();
  recompute();
  log.info({ node: o.node, interface: o.ifname, mac: responder.mac, membership: membership.addr }, 'speaker started');

  return {
    held: () => [...holdings.held.keys()].sort(),
    partition: () => holdings.partition,
    metricsPort: metricsServer?.port,
    async stop() {
      // BGP: keep (the next speaker adopts FRR's state), or withdraw this node's routes while its sessions stay up,
      // so the routers move its flows to the other nodes (which still serve them) before we go; in parallel with L2.
      const withdrawn = bgp?.stop(o.bgpOnStop ?? 'keep', o.bgpWithdrawTimeoutMs ?? 3000);
      // Stop answering first, then tell the others, so there is never a moment two nodes answer.
      stopped = true;
      holdings = { ...holdings, held: new Map() };
      for (const timer of [recomputeTimer, apiTimer, repeatTimer]) clearInterval(timer);
      reporter.stop();
      eligibility.stop();
      responder.close();
      await membership.stop();
      keys?.stop();
      await metricsServer?.close();
      await withdrawn;
      await cache.stop();
    },
  };
}
