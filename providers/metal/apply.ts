// ensure()'s work: one address per IP family of the Service from the allocator, and a Warning Event whenever an
// address moves without the Service asking (the pools changed under it).
import {
  type EventPort,
  type LoadBalancerSpec,
  type LoadBalancerStatus,
  TerminalError,
} from '../../src/contract/provider.ts';
import { serviceRef } from '../../src/lib/service/keys.ts';
import type { MetalOptions } from './annotations.ts';
import { familyOf, requestFor } from './desired.ts';
import type { AddressAllocator } from './ipam/allocator.ts';

export const MetalEventReason = {
  /** A Service's address moved because the pools changed under it (never silently). */
  LoadBalancerAddressChanged: 'LoadBalancerAddressChanged',
} as const;

export type Applied =
  | { ok: true; ingress: LoadBalancerStatus['ingress']; changed: boolean }
  | { ok: false; error: TerminalError };

/** Assigns family by family; stops at the first family with no address (the ones before keep theirs). */
export function assignAddresses(
  allocator: AddressAllocator,
  events: EventPort,
  key: string,
  spec: Readonly<LoadBalancerSpec<MetalOptions>>,
): Applied {
  const ingress: LoadBalancerStatus['ingress'] = [];
  let changed = false;
  for (const family of spec.ipFamilies) {
    const before = allocator.allocationOf(key, family)?.ip;
    const shown = spec.currentAddresses.find((ip) => familyOf(ip) === family);
    const result = allocator.assign(requestFor(key, spec, family));
    if (!result.ok) {
      const kept = allocator.allocationOf(key, family)?.ip ?? shown;
      const keeping = kept ? `; keeping ${kept} until one is available` : '';
      return { ok: false, error: new TerminalError(result.reason, `${family}: ${result.message}${keeping}`) };
    }
    if (result.ip !== before) changed = true;
    const previous = before ?? shown;
    const askedFor = spec.requestedAddresses.includes(result.ip);
    if (previous && previous !== result.ip && !askedFor) {
      // The Service did not ask to move: the pools changed under it. Say so loudly, never silently.
      events.record(
        serviceRef(spec.identity),
        'Warning',
        MetalEventReason.LoadBalancerAddressChanged,
        `${family} address changed from ${previous} to ${result.ip}: ${previous} is no longer in an address pool this Service may use`,
      );
    }
    ingress.push({ ip: result.ip, ipMode: 'VIP' });
  }
  return { ok: true, ingress, changed };
}
