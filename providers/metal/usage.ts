// The pool gauges: assignable and used addresses per pool, as the allocator counts them.
import type { GaugePort, MetricsPort } from '../../src/contract/provider.ts';
import type { AddressAllocator } from './ipam/allocator.ts';

export class PoolGauges {
  private readonly total: GaugePort<'pool'>;
  private readonly used: GaugePort<'pool'>;
  private readonly reported = new Set<string>();

  constructor(metrics: MetricsPort) {
    this.total = metrics.gauge({
      name: 'pool_addresses_total',
      help: 'Assignable addresses in an address pool.',
      labelNames: ['pool'],
    });
    this.used = metrics.gauge({
      name: 'pool_addresses_used',
      help: 'Addresses of a pool assigned to Services.',
      labelNames: ['pool'],
    });
  }

  /** A pool that is gone loses its series instead of showing its last value forever. */
  report(allocator: AddressAllocator): void {
    const seen = new Set<string>();
    for (const { pool, total, used } of allocator.usage()) {
      this.total.set({ pool }, Number(total));
      this.used.set({ pool }, used);
      seen.add(pool);
    }
    for (const pool of this.reported) {
      if (seen.has(pool)) continue;
      this.total.remove({ pool });
      this.used.remove({ pool });
    }
    this.reported.clear();
    for (const pool of seen) this.reported.add(pool);
  }
}
