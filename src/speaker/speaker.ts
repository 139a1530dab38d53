// The speaker: membership decides who is alive, the cache says which addresses are assigned, the table says which
// of them are ours, and the responder answers for exactly those. Nothing on this path waits for the apiserver: the
// annotation and Event reporting a takeover are written afterwards, best effort.
import { core as corePath } from '../lib/kube/api/paths.ts';
import { type KubeSource, kubeClientOf } from '../lib/kube/api/source.ts';
import { EventRecorder, kubeEventsApi } from '../lib/kube/events.ts';
import type { Logger } from '../lib/observe/logging.ts';
import type { MetricsSecurity } from '../lib/observe/metrics-security.ts';
import { startObservabilityServer } from '../lib/observe/server.ts';
import { createSpeakerCache } from './cache.ts';
import { Fence } from './fence.ts';
import { checkHealthUrl } from './health.ts';
import type { MembershipConfig } from './membership/types.ts';
import { formatAddr, startUdpMembership } from './membership/udp.ts';
import { type PartitionState, speakerRegistry } from './metrics.ts';
import { startResponder } from './responder.ts';
import { type AnnouncedService, assignments, ownedAddresses } from './table.ts';

export const ANNOUNCING_NODE_ANNOTATION = 'drawbridge.io/announcing-node';
/**
 * The soonest the others can take our addresses over, counted from the moment we lost quorum. A cut-off member
 * fences after `isolationMs` (150 ms) of silence; the first survivor declares it dead no sooner than ack + indirect +
 * confirmed suspicion (250 ms) after the cut: about 100 ms later (the machine test's worst case over cut phases is
 * 109 ms). A quorum blip shorter than this moved nothing, so we answer again at once; a longer one may have, so
 * taking addresses back is a planned move (acknowledged, a gap not an overlap). Kept below the 100 ms on purpose:
 * treating a blip as a move costs one round trip, treating a move as a blip costs a double answer.
 */
const MIN_TAKEOVER_MS = 50;
/**
 * Isolated (no quorum, apiserver reachable): how long after losing quorum before answering again for what we held.
 * A majority that can still reach the apiserver takes our addresses over within a second and names itself on their
 * Services; waiting this long lets that annotation reach our cache first, so we stay silent rather than answer next
 * to the new owner. With no majority (the membership broken everywhere), this is the gap before we resume.
 */
const ISOLATED_REANSWER_MS = 3000;
/** A planned move waits for every member's acknowledgement (see recompute), but never longer than this. */
const PLANNED_MOVE_MAX_MS = 2000;

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
  log: Logger;
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
  );
  const membership = await startUdpMembership({
    name: o.node,
    host: o.bindHost,
    port: o.port,
    seeds: o.peers,
    // With a health endpoint to check, not eligible before its first answer.
    eligible: o.probationMs <= 0 && o.nodeHealthUrl === undefined,
    config: o.membership,
  });
  const machine = membership.machine;
  const held = new Map<string, string[]>();
  let bursts = 0;
  let partition: PartitionState = 'quorum';
  let apiReachable = false;
  const fence = new Fence();
  let stopped = false;
  let quorumLostAt = Number.NEGATIVE_INFINITY;
  const plannedMoveDelayMs = o.plannedMoveDelayMs ?? 200;
  // When this node last became eligible (see recompute: planned moves).
  let eligibleSince = machine.isEligible() ? performance.now() : Number.NEGATIVE_INFINITY;

  const responder = startResponder({
    ifname: o.ifname,
    owns: (ip) => held.has(ip),
    onSendError: (error) => log.warn({ err: String(error) }, 'send failed'),
  });

  // The cache's inputs are re-read only when it changes; recompute() runs often (quorum depends on time).
  let services: AnnouncedService[] = [];
  let inputs = { pools: cache.pools(), excluded: cache.excludedNodes() };
  // The table changes only with the cache or the membership; the 25 ms timer re-evaluates quorum, not the table.
  let tableVersion = 0;
  let memo: { version: number; owned: Map<string, string[]> } | undefined;
  cache.onChange(() => {
    tableVersion++;
    services = cache.services();
    inputs = { pools: cache.pools(), excluded: cache.excludedNodes() };
    const seeds = [...cache.nodeAddresses()].filter(([n]) => n !== o.node).map(([, ip]) => formatAddr(ip, o.port));
    machine.setSeeds([...new Set([...o.peers, ...seeds])]);
    recompute();
  });

  const burst = (ip: string) => {
    bursts++;
    let sent = 0;
    const round = () => {
      if (stopped || !held.has(ip)) return;
      responder.announce(ip);
      if (++sent < o.burstCount) setTimeout(round, o.burstIntervalMs);
    };
    round();
  };

  function recompute(): void {
    if (stopped) return;
    const now = performance.now();
    const q = machine.quorum(now);
    const next = fence.state(now, q.quorum, held.keys());
    if (next !== partition) {
      log.warn({ partition: next, reachable: q.reachable, reference: q.reference }, 'partition state changed');
      // Just lost quorum: ask the apiserver now whether we are cut off from everything or only from the members.
      if (partition === 'quorum') {
        void checkApi();
        quorumLostAt = now;
      }
      // Back in the quorum after long enough for the others to have taken our addresses over (a healed partition):
      // taking them back is a planned move from live owners. A shorter blip (a starved event loop tripping the
      // isolation fence) moved nothing: nobody can take over in less than the membership's minimum detection time.
      if (next === 'quorum' && now - quorumLostAt >= MIN_TAKEOVER_MS) {
        eligibleSince = now;
        machine.confirm(now);
      }
      partition = next;
    }
    const table = { self: o.node, services, members: machine.eligibleMembers(), ...inputs };
    if (partition === 'quorum' && memo?.version !== tableVersion) {
      memo = { version: tableVersion, owned: ownedAddresses(table) };
    }
    const owned = partition === 'quorum' ? memo!.owned : new Map<string, string[]>();
    if (partition === 'isolated') {
      // Cut off from the members but not from the apiserver: answer again, after ISOLATED_REANSWER_MS, for what we held
      // when quorum went, unless its Service names another announcing node by then (the majority took it over); take
      // nothing over (we cannot tell dead members from unreachable ones).
      for (const [ip, { services: keys }] of assignments(table)) {
        const elsewhere = keys.some((key) => {
          const node = cache.service(key)?.metadata?.annotations?.[ANNOUNCING_NODE_ANNOTATION];
          return node !== undefined && node !== o.node;
        });
        if (fence.keepable().has(ip) && !elsewhere && now - quorumLostAt >= ISOLATED_REANSWER_MS) owned.set(ip, keys);
      }
    }
    for (const ip of [...held.keys()]) {
      if (owned.has(ip)) continue;
      held.delete(ip);
      responder.unwatch(ip);
      log.info({ address: ip }, 'stopped announcing');
    }
    // A planned move (we just became eligible: probation over, health back, a healed partition): the old owner is
    // alive and stops when our fan-out reaches it, so we start only plannedMoveDelayMs after it, a short gap rather
    // than a moment where both answer. Takeovers from dead or ineligible members are not delayed.
    // And not before every live member has acknowledged a ping sent after it: a loaded old owner may not have read
    // the change yet after 200 ms (seen in the lab: both answering at a restart), and it acks only after reading it.
    // (At most PLANNED_MOVE_MAX_MS: a member that joined since may never be pinged by us.)
    const sinceEligible = now - eligibleSince;
    const settling =
      sinceEligible < plannedMoveDelayMs ||
      (sinceEligible < PLANNED_MOVE_MAX_MS && !machine.confirmedSince(eligibleSince));
    for (const [ip, keys] of owned) {
      if (held.has(ip)) {
        held.set(ip, keys);
        continue;
      }
      if (settling) continue; // the 25 ms timer comes back for it
      held.set(ip, keys);
      responder.watch(ip);
      burst(ip);
      log.info({ address: ip, services: keys }, 'announcing');
      setImmediate(() => report(ip, keys));
    }
  }

  const events = new EventRecorder({
    core: kubeEventsApi(client),
    component: 'drawbridge-speaker',
    instance: o.node,
    onError: (error) => log.debug({ err: String(error) }, 'event not written'),
  });
  // Best effort, after the fact: the annotation and an Event on each Service that now reaches us. A takeover during
  // an apiserver outage is reported once the apiserver answers again (retried every few seconds while we still hold
  // the address); nothing here is awaited by the announcing path.
  const owed = new Map<string, string>();
  const inFlight = new Set<string>();
  function report(ip: string, keys: string[]): void {
    for (const key of keys) owed.set(key, ip);
    flushReports();
  }
  function flushReports(): void {
    for (const [key, ip] of owed) {
      const svc = cache.service(key);
      const { name, namespace, uid } = svc?.metadata ?? {};
      if (!held.has(ip) || svc === undefined || name === undefined || namespace === undefined) {
        owed.delete(key);
        continue;
      }
      if (svc.metadata?.annotations?.[ANNOUNCING_NODE_ANNOTATION] === o.node) {
        owed.delete(key);
        continue;
      }
      if (inFlight.has(key)) continue;
      inFlight.add(key);
      client
        .patch(
          corePath('services', namespace, name),
          { metadata: { annotations: { [ANNOUNCING_NODE_ANNOTATION]: o.node } } },
          'merge',
        )
        .then(() => {
          if (owed.get(key) !== ip) return;
          owed.delete(key);
          events.record(
            { kind: 'Service', apiVersion: 'v1', name, namespace, uid },
            'Normal',
            'AnnouncingNode',
            `${o.node} announces ${ip}`,
          );
        })
        .catch((error: unknown) => log.debug({ err: String(error), service: key }, 'annotation not written yet'))
        .finally(() => inFlight.delete(key));
    }
  }
  const reportTimer = setInterval(flushReports, 2000);

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
          for (const ip of held.keys()) responder.announce(ip);
        }, o.repeatMs)
      : undefined;
  // Eligible = probation over and the node healthy; the machine fans out every change of it at once.
  let probationOver = o.probationMs <= 0;
  const health = { healthy: o.nodeHealthUrl === undefined, failures: 0, passingSince: -1, checks: 0 };
  const setEligible = () => {
    const eligible = probationOver && health.healthy;
    if (eligible === machine.isEligible()) return;
    log.warn({ eligible, nodeHealthy: health.healthy }, 'eligibility changed');
    // Set before the machine's change runs recompute, so that recompute already counts this as a planned move.
    if (eligible) eligibleSince = performance.now();
    machine.setEligible(eligible);
    // After the fan-out, so the members' acks to these pings prove they have read it.
    if (eligible) machine.confirm(eligibleSince);
  };
  const probationTimer =
    o.probationMs > 0
      ? setTimeout(() => {
          probationOver = true;
          setEligible();
        }, o.probationMs)
      : undefined;
  let healthInFlight = false;
  const checkHealth = async () => {
    if (healthInFlight || o.nodeHealthUrl === undefined) return;
    healthInFlight = true;
    let ok = false;
    try {
      ok = await checkHealthUrl(o.nodeHealthUrl, o.nodeHealthTimeoutMs ?? 250);
    } finally {
      healthInFlight = false;
    }
    if (stopped) return;
    const now = performance.now();
    health.checks++;
    if (ok) {
      health.failures = 0;
      if (health.passingSince < 0) health.passingSince = now;
      // The first answer ever makes the node healthy at once (probation covers start-up); a recovery waits.
      if (!health.healthy && (health.checks === 1 || now - health.passingSince >= o.probationMs)) {
        health.healthy = true;
        setEligible();
      }
    } else {
      health.passingSince = -1;
      if (++health.failures >= 2 && health.healthy) {
        health.healthy = false;
        log.warn({ url: o.nodeHealthUrl }, 'node health check failing: leaving eligibility');
        setEligible();
      }
    }
  };
  const healthTimer =
    o.nodeHealthUrl === undefined ? undefined : setInterval(() => void checkHealth(), o.nodeHealthIntervalMs ?? 100);
  void checkHealth();

  let metricsServer: Awaited<ReturnType<typeof startObservabilityServer>> | undefined;
  if (o.metricsAddress !== undefined) {
    const at = o.metricsAddress.lastIndexOf(':');
    const registry = speakerRegistry({
      requestsSeen: () => responder.counters.framesSeen,
      repliesSent: () => responder.counters.repliesSent,
      gratuitousBursts: () => bursts,
      addressesHeld: () => {
        const ips = [...held.keys()];
        return {
          IPv4: ips.filter((ip) => !ip.includes(':')).length,
          IPv6: ips.filter((ip) => ip.includes(':')).length,
        };
      },
      members: () => machine.counts(),
      partition: () => partition,
      apiserverReachable: () => apiReachable,
      membershipDatagrams: () => membership.traffic,
      eligible: () => machine.isEligible(),
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
    held: () => [...held.keys()].sort(),
    partition: () => partition,
    metricsPort: metricsServer?.port,
    async stop() {
      // Stop answering first, then tell the others, so there is never a moment two nodes answer.
      stopped = true;
      held.clear();
      for (const timer of [recomputeTimer, apiTimer, repeatTimer, reportTimer, healthTimer]) clearInterval(timer);
      clearTimeout(probationTimer);
      responder.close();
      await membership.stop();
      await metricsServer?.close();
      await cache.stop();
    },
  };
}
