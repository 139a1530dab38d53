// The metal provider's registry entry: configuration schema and flags. Light on purpose; the
// provider itself (provider.ts) loads only when metal is chosen.
import { z } from 'zod';
import type { ProviderDefinition } from '../../src/contract/provider.ts';
import type { MetalOptions } from './annotations.ts';

export const MetalConfigSchema = z.strictObject({
  /** How long start-up waits for the AddressPool watch to list before giving up (is the CRD installed?). */
  poolSyncTimeoutSeconds: z.number().positive().default(30),
});
export type MetalConfig = z.output<typeof MetalConfigSchema>;

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
};
