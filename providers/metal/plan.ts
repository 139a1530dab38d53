// What ensure() would change for a Service, from what the allocator holds: pure, no allocation made.
import type { LoadBalancerSpec, PlannedAction } from '../../src/contract/provider.ts';
import type { MetalOptions } from './annotations.ts';
import { familyOf } from './desired.ts';
import type { AddressAllocator } from './ipam/allocator.ts';

export function planAddresses(
  allocator: AddressAllocator,
  key: string,
  spec: Readonly<LoadBalancerSpec<MetalOptions>>,
): PlannedAction[] {
  const actions: PlannedAction[] = [];
  for (const family of spec.ipFamilies) {
    const held = allocator.allocationOf(key, family);
    const wanted = spec.requestedAddresses.find((ip) => familyOf(ip) === family);
    if (!held) actions.push({ action: 'create', resource: 'address', name: wanted ?? `next free ${family} address` });
    else if (wanted && wanted !== held.ip)
      actions.push({ action: 'update', resource: 'address', name: wanted, detail: `was ${held.ip}` });
  }
  return actions;
}
