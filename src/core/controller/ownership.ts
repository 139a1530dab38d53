// The ServiceIndex handed to providers: which Services this controller owns, kept current from the Service
// informer's events (O(1) per event and per lookup), plus a feed of every Service change for providers that track
// what others hold (metal's foreign addresses).
import type { V1Service } from '@kubernetes/client-node';
import type { ServiceChange, ServiceIndex } from '../../contract/provider.ts';
import { serviceKey } from '../../lib/service/keys.ts';

type Listener = (change: ServiceChange) => void;

export class OwnedServiceIndex implements ServiceIndex {
  private readonly owned = new Set<string>();
  private readonly listeners = new Set<Listener>();
  private readonly lookup: (key: string) => V1Service | undefined;
  private readonly all: () => readonly V1Service[];

  constructor(lookup: (key: string) => V1Service | undefined, all: () => readonly V1Service[]) {
    this.lookup = lookup;
    this.all = all;
  }

  /** A Service was added or changed; `owned` is the controller's decision for it now. */
  upsert(service: V1Service, owned: boolean): void {
    const key = serviceKey(service);
    if (owned) this.owned.add(key);
    else this.owned.delete(key);
    this.emit({ type: 'upsert', service, owned });
  }

  delete(service: V1Service): void {
    this.owned.delete(serviceKey(service));
    this.emit({ type: 'delete', service, owned: false });
  }

  get(key: string): V1Service | undefined {
    return this.owned.has(key) ? this.lookup(key) : undefined;
  }

  has(key: string): boolean {
    return this.owned.has(key);
  }

  keys(): IterableIterator<string> {
    return [...this.owned].values();
  }

  get size(): number {
    return this.owned.size;
  }

  subscribe(listener: Listener, options: { replay?: boolean } = {}): () => void {
    if (options.replay) {
      for (const service of this.all())
        listener({ type: 'upsert', service, owned: this.owned.has(serviceKey(service)) });
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: ServiceChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
