// Watches AddressPool resources and keeps the allocator's pool set current. Pools that fail validation are left
// out (their Services see UnknownPool / PoolExhausted) and get a Warning Event naming every problem; pools that
// overlap get one too. Nothing else is disturbed by one bad pool.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { EventPort, LogPort } from '../../../src/contract/provider.ts';
import { type KubeSource, kubeClientOf } from '../../../src/lib/kube/api/source.ts';
import { type ResilientInformer, resilientInformer } from '../../../src/lib/kube/informer.ts';
import { slimObject } from '../../../src/lib/kube/slim.ts';
import { findOverlaps } from '../model/overlap.ts';
import {
  ADDRESS_POOL_API_VERSION,
  ADDRESS_POOL_GROUP,
  ADDRESS_POOL_KIND,
  ADDRESS_POOL_PLURAL,
  ADDRESS_POOL_VERSION,
  type AddressPool,
  parsePool,
} from '../model/schema.ts';

export const PoolEventReason = {
  InvalidAddressPool: 'InvalidAddressPool',
  OverlappingPools: 'OverlappingPools',
} as const;

export interface PoolWatchOptions {
  kubeConfig: KubeSource;
  events: EventPort;
  log: LogPort;
  /** Called with the valid pools after every change. */
  onPools: (pools: AddressPool[]) => void;
}

export class PoolWatch {
  private readonly informer: ResilientInformer<KubernetesObject>;
  private readonly o: PoolWatchOptions;

  constructor(options: PoolWatchOptions) {
    this.o = options;
    this.informer = resilientInformer<KubernetesObject>({
      client: kubeClientOf(options.kubeConfig),
      path: `/apis/${ADDRESS_POOL_GROUP}/${ADDRESS_POOL_VERSION}/${ADDRESS_POOL_PLURAL}`,
      transform: slimObject,
      onError: (error, retryInMs) =>
        options.log.warn(
          { err: String((error as Error)?.message ?? error), retryInMs },
          'cannot watch AddressPools (is deploy/crds/addresspools.drawbridge.io.yaml applied?)',
        ),
    });
    for (const verb of ['add', 'update', 'delete'] as const) this.informer.on(verb, () => this.publish());
  }

  get synced(): boolean {
    return this.informer.synced;
  }

  /** Resolves when the first list arrived, or after `timeoutMs` (the provider then reports PoolsNotLoaded). */
  async start(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.informer.start(), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    if (this.synced) this.publish();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  private publish(): void {
    const valid: AddressPool[] = [];
    const uids = new Map<string, string | undefined>();
    for (const obj of this.informer.list()) {
      const name = obj.metadata?.name ?? '';
      uids.set(name, obj.metadata?.uid);
      const parsed = parsePool(obj);
      if (parsed.ok) {
        valid.push(parsed.pool);
        continue;
      }
      const message = parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
      this.o.log.warn({ pool: name, problems: parsed.problems }, 'invalid AddressPool ignored');
      this.o.events.record(
        this.target(name, obj.metadata?.uid),
        'Warning',
        PoolEventReason.InvalidAddressPool,
        message,
      );
    }
    for (const overlap of findOverlaps(valid)) {
      const message = `pools ${overlap.a} and ${overlap.b} overlap (${overlap.range}); no new addresses come from either until fixed`;
      this.o.log.warn({ overlap }, 'overlapping AddressPools');
      for (const name of [overlap.a, overlap.b]) {
        this.o.events.record(this.target(name, uids.get(name)), 'Warning', PoolEventReason.OverlappingPools, message);
      }
    }
    this.o.onPools(valid);
  }

  private target(name: string, uid: string | undefined) {
    return { kind: ADDRESS_POOL_KIND, apiVersion: ADDRESS_POOL_API_VERSION, name, uid };
  }
}
