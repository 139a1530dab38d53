// The speaker's /metrics. Counters the responder and membership already keep are read at scrape time (collect), so
// the packet path never touches prom-client.
//
// Only the three prom-client modules used, by path: the package's index also loads its default metrics (whose CPU
// metric loads @opentelemetry/api), Histogram, Summary (and tdigest), the Pushgateway (http, https, zlib) and the
// cluster aggregator, which cost the idle speaker several MB of its RSS for nothing it uses (docs/benchmarks.md).
// Types: prom-client-lib.d.ts.
import type { Registry as PromRegistry } from 'prom-client';
import Counter from 'prom-client/lib/counter.js';
import Gauge from 'prom-client/lib/gauge.js';
import Registry from 'prom-client/lib/registry.js';

export interface SpeakerStats {
  requestsSeen(): number;
  repliesSent(): number;
  gratuitousBursts(): number;
  addressesHeld(): { IPv4: number; IPv6: number };
  members(): Record<'alive' | 'suspect' | 'dead', number>;
  partition(): PartitionState;
  apiserverReachable(): boolean;
  membershipDatagrams(): { sent: number; received: number; bytesSent: number; bytesReceived: number };
  /** Membership datagrams dropped, by reason (membership/auth.ts). */
  membershipDropped(): Record<string, number>;
  /** Whether this node may announce now (probation over and, when checked, its kube-proxy healthy). */
  eligible(): boolean;
  /** Packet sockets reopened, by why the previous one was lost (an errno name, ifindex-changed, mac-changed, ...). */
  packetSocketReopens?(): Readonly<Record<string, number>>;
  /** The BGP sessions, as FRR reports them; absent (BGP off: no --frr-socket-dir): none. */
  bgpSessions?(): readonly BgpSessionStats[];
  /** Configuration lines FRR rejected since start. */
  bgpRejectedLines?(): number;
}

export interface BgpSessionStats {
  peer: string;
  established: boolean;
  resets: number;
  routes: number;
  bfdUp?: boolean;
}

export type PartitionState = 'quorum' | 'isolated' | 'minority';

export function speakerRegistry(stats: SpeakerStats): PromRegistry {
  const registry: PromRegistry = new Registry();
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  counter('drawbridge_speaker_requests_seen_total', 'ARP and neighbor discovery frames received', stats.requestsSeen);
  counter('drawbridge_speaker_replies_sent_total', 'ARP replies and neighbor advertisements sent', stats.repliesSent);
  counter('drawbridge_speaker_gratuitous_bursts_total', 'Takeover bursts of gratuitous ARP / unsolicited NA', () =>
    stats.gratuitousBursts(),
  );
  new Counter({
    name: 'drawbridge_speaker_membership_datagrams_total',
    help: 'Membership datagrams, by direction',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      const { sent, received } = stats.membershipDatagrams();
      this.reset();
      this.inc({ direction: 'sent' }, sent);
      this.inc({ direction: 'received' }, received);
    },
  });
  new Counter({
    name: 'drawbridge_speaker_membership_bytes_total',
    help: 'Membership UDP payload bytes, by direction',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      const { bytesSent, bytesReceived } = stats.membershipDatagrams();
      this.reset();
      this.inc({ direction: 'sent' }, bytesSent);
      this.inc({ direction: 'received' }, bytesReceived);
    },
  });
  new Counter({
    name: 'drawbridge_speaker_packet_socket_reopens_total',
    help: 'ARP/NDP packet sockets reopened after a socket error or an interface change, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(stats.packetSocketReopens?.() ?? {})) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'drawbridge_speaker_membership_dropped_total',
    help: 'Membership datagrams dropped, by reason: malformed, bad-mac, stale, replay, sender-mismatch, incarnation-bound',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(stats.membershipDropped())) this.inc({ reason }, n);
    },
  });
  new Gauge({
    name: 'drawbridge_speaker_eligible',
    help: '1 while this node may announce: probation over and, when --node-health-url is set, its kube-proxy healthy',
    registers: [registry],
    collect() {
      this.set(stats.eligible() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'drawbridge_speaker_addresses_held',
    help: 'Addresses this node announces now',
    labelNames: ['family'],
    registers: [registry],
    collect() {
      for (const [family, n] of Object.entries(stats.addressesHeld())) this.set({ family }, n);
    },
  });
  new Gauge({
    name: 'drawbridge_speaker_members',
    help: 'Members of the speaker membership, by state as this node sees them',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      for (const [state, n] of Object.entries(stats.members())) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'drawbridge_speaker_partition_state',
    help: '1 for the current state: quorum (normal), isolated (no quorum, apiserver reachable), minority (stopped)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const now = stats.partition();
      for (const state of ['quorum', 'isolated', 'minority'] as const) this.set({ state }, state === now ? 1 : 0);
    },
  });
  new Gauge({
    name: 'drawbridge_speaker_apiserver_reachable',
    help: '1 while the apiserver answers; the speaker keeps answering from its cache when it does not',
    registers: [registry],
    collect() {
      this.set(stats.apiserverReachable() ? 1 : 0);
    },
  });
  bgpMetrics(registry, stats.bgpSessions ?? (() => []), stats.bgpRejectedLines ?? (() => 0));
  return registry;
}

function bgpMetrics(registry: PromRegistry, sessions: () => readonly BgpSessionStats[], rejected: () => number): void {
  const perPeer = (name: string, help: string, read: (s: BgpSessionStats) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['peer'],
      registers: [registry],
      collect() {
        this.reset();
        for (const session of sessions()) {
          const value = read(session);
          if (value !== undefined) this.set({ peer: session.peer }, value);
        }
      },
    });
  perPeer('drawbridge_speaker_bgp_session_up', '1 while the BGP session with the peer is Established', (s) =>
    s.established ? 1 : 0,
  );
  perPeer('drawbridge_speaker_bgp_routes_announced', 'Prefixes this node announces to the peer now', (s) => s.routes);
  perPeer('drawbridge_speaker_bfd_session_up', '1 while the BFD session with the peer is up (absent: BFD off)', (s) =>
    s.bfdUp === undefined ? undefined : s.bfdUp ? 1 : 0,
  );
  new Counter({
    name: 'drawbridge_speaker_bgp_session_resets_total',
    help: 'BGP sessions with the peer that went down after being established, since the routing engine started',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const session of sessions()) this.inc({ peer: session.peer }, session.resets);
    },
  });
  new Counter({
    name: 'drawbridge_speaker_bgp_rejected_lines_total',
    help: 'Configuration lines the routing engine (FRR) rejected; each is logged',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(rejected());
    },
  });
}
