// The metal provider's registry entry: configuration schema, flags and demo set-up. Light on purpose; the
// provider itself (provider.ts) loads only when metal is chosen.
import { z } from 'zod';
import type { ProviderDefinition } from '../../src/contract/provider.ts';
import { createPool, installAddressPoolCrd } from './pools/install.ts';
import type { MetalOptions } from './service.ts';

export const MetalConfigSchema = z.strictObject({
  /** How long start-up waits for the AddressPool watch to list before giving up (is the CRD installed?). */
  poolSyncTimeoutSeconds: z.number().positive().default(30),
});
export type MetalConfig = z.output<typeof MetalConfigSchema>;

/** TEST-NET-2 (RFC 5737): documentation addresses. The demo only allocates them, it never sends them traffic. */
export const DEMO_POOL_CIDR = '198.51.100.0/28';

export const metal: ProviderDefinition<MetalConfig, MetalOptions> = {
  name: 'metal',
  summary: 'bare metal: addresses from AddressPools, announced by the speaker (ARP/NDP)',
  configSchema: MetalConfigSchema,
  flags: [
    {
      name: 'pool-sync-timeout',
      field: 'poolSyncTimeoutSeconds',
      type: 'number',
      description: 'seconds start-up waits for the AddressPools to load (default: 30)',
    },
  ],
  create: async (context, config) => new (await import('./provider.ts')).MetalProvider(context, config),
  demo: {
    describe: `the AddressPool CRD and pool demo-pool (${DEMO_POOL_CIDR})`,
    prepareCluster: async (kubeConfig) => {
      await installAddressPoolCrd(kubeConfig);
      await createPool(kubeConfig, 'demo-pool', [DEMO_POOL_CIDR], { avoidBuggyIPs: true }).catch(
        (e: { code?: number }) => {
          if (e.code !== 409) throw e;
        },
      );
    },
  },
};
