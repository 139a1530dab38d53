// Giving a Service's addresses back, and waking whoever waits for one.
import type { ProviderContext } from '../../src/contract/provider.ts';
import type { AddressAllocator } from './ipam/allocator.ts';
import type { PoolGauges } from './usage.ts';

/** Frees every address `key` holds; true when it held any. */
export function releaseAddresses(
  ctx: ProviderContext,
  allocator: AddressAllocator,
  gauges: PoolGauges,
  key: string,
  waiting: ReadonlySet<string>,
): boolean {
  if (!allocator.release(key)) return false;
  gauges.report(allocator);
  // An address came free: whoever was waiting for one gets another try now, not at the next resync.
  ctx.requeue([...waiting], 'address released');
  return true;
}
