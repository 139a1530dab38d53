// Watches BGPPeers, BGPAdvertisements and BFDProfiles for the controller, which does not announce (the speakers
// do) but is where a mistake in them is reported: a Warning Event on the object for each of checkBgp's findings.
// Each finding is recorded once while it lasts (again if it goes away and comes back), not at every change of an
// unrelated object. The controller neither waits for these informers nor needs them:
// a cluster without the BGP CRDs works as before, with one log line per kind.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { EventPort, LogPort } from '../../../src/contract/provider.ts';
import { type KubeSource, kubeClientOf } from '../../../src/lib/kube/api/source.ts';
import { type ResilientInformer, resilientInformer } from '../../../src/lib/kube/informer.ts';
import { slimObject } from '../../../src/lib/kube/slim.ts';
import { BFD_PROFILE_PLURAL, BGP_ADVERTISEMENT_PLURAL, BGP_PEER_PLURAL } from '../model/bgp-types.ts';
import { ADDRESS_POOL_API_VERSION, ADDRESS_POOL_GROUP, ADDRESS_POOL_VERSION } from '../model/schema.ts';
import { checkBgp } from './check.ts';

export interface BgpWatchOptions {
  kubeConfig: KubeSource;
  events: EventPort;
  log: LogPort;
}

export class BgpWatch {
  private readonly o: BgpWatchOptions;
  private readonly peers: ResilientInformer<KubernetesObject>;
  private readonly advertisements: ResilientInformer<KubernetesObject>;
  private readonly profiles: ResilientInformer<KubernetesObject>;
  private poolNames: ReadonlySet<string> = new Set();
  private poolsKnown = false;
  /** Findings already recorded, by object uid: a finding is recorded again only when it or the object changes. */
  private recorded = new Map<string, Set<string>>();

  constructor(options: BgpWatchOptions) {
    this.o = options;
    const informer = (plural: string) => {
      let failing = false;
      const inf = resilientInformer<KubernetesObject>({
        client: kubeClientOf(options.kubeConfig),
        path: `/apis/${ADDRESS_POOL_GROUP}/${ADDRESS_POOL_VERSION}/${plural}`,
        transform: slimObject,
        onError: (error) => {
          if (failing) return;
          failing = true;
          options.log.warn(
            { err: String((error as Error)?.message ?? error) },
            `cannot watch ${plural} (is deploy/crds/${plural}.${ADDRESS_POOL_GROUP}.yaml applied?); BGP objects go unchecked until it is`,
          );
        },
      });
      for (const verb of ['add', 'update', 'delete'] as const) {
        inf.on(verb, () => {
          failing = false;
          this.check();
        });
      }
      return inf;
    };
    this.peers = informer(BGP_PEER_PLURAL);
    this.advertisements = informer(BGP_ADVERTISEMENT_PLURAL);
    this.profiles = informer(BFD_PROFILE_PLURAL);
  }

  /** The names of the valid AddressPools (from the pool watch), which advertisements may name. */
  setPools(names: Iterable<string>): void {
    this.poolNames = new Set(names);
    this.poolsKnown = true;
    this.check();
  }

  /** Starts the informers without waiting for them. */
  start(): void {
    for (const inf of this.all()) void inf.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((inf) => inf.stop()));
  }

  private all(): ResilientInformer<KubernetesObject>[] {
    return [this.peers, this.advertisements, this.profiles];
  }

  private check(): void {
    // Until every list arrived a reference may only look missing.
    if (!this.poolsKnown || !this.all().every((inf) => inf.synced)) return;
    const { warnings } = checkBgp(
      { peers: this.peers.list(), advertisements: this.advertisements.list(), profiles: this.profiles.list() },
      this.poolNames,
    );
    const next = new Map<string, Set<string>>();
    for (const warning of warnings) {
      const uid = warning.uid ?? `${warning.kind}/${warning.name}`;
      const key = `${warning.reason}\n${warning.message}`;
      const seen = next.get(uid) ?? new Set<string>();
      seen.add(key);
      next.set(uid, seen);
      if (this.recorded.get(uid)?.has(key)) continue;
      this.o.log.warn({ kind: warning.kind, name: warning.name, reason: warning.reason }, warning.message);
      this.o.events.record(
        { kind: warning.kind, apiVersion: ADDRESS_POOL_API_VERSION, name: warning.name, uid: warning.uid },
        'Warning',
        warning.reason,
        warning.message,
      );
    }
    this.recorded = next;
  }
}
