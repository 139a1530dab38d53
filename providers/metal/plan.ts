// What ensure() would change for a Service, from what the allocator holds: pure, no allocation made. It asks the
// allocator the same question ensure does (preview), so plan refuses what ensure would refuse, with the same reason.
import { type LoadBalancerSpec, type PlannedAction, TerminalError } from '../../src/contract/provider.ts';
import type { MetalOptions } from './annotations.ts';
import { requestFor } from './desired.ts';
import type { AddressAllocator } from './ipam/allocator.ts';

/** Throws ensure's TerminalError when a family would get no address. */
export function planAddresses(
  allocator: AddressAllocator,
  key: string,
  spec: Readonly<LoadBalancerSpec<MetalOptions>>,
): PlannedAction[] {
  const actions: PlannedAction[] = [];
  for (const family of spec.ipFamilies) {
    const held = allocator.allocationOf(key, family);
    const result = allocator.preview(requestFor(key, spec, family));
    if (!result.ok) throw new TerminalError(result.reason, `${family}: ${result.message}`);
    if (!held) {
      const asked = spec.requestedAddresses.includes(result.ip);
      actions.push({
        action: 'create',
        resource: 'address',
        name: asked ? result.ip : `${result.ip} (next free ${family} address)`,
      });
    } else if (result.ip !== held.ip) {
      actions.push({ action: 'update', resource: 'address', name: result.ip, detail: `was ${held.ip}` });
    }
  }
  return actions;
}
