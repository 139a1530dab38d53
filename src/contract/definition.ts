// One entry of the provider registry (providers/index.ts): what the commands need to offer a provider (its flags,
// its configuration schema) and to build it.
import type { z } from 'zod';
import type { ProviderContext } from './ports.ts';
import type { Provider } from './provider.ts';
import type { LoadBalancerIdentity } from './spec.ts';

/** A documented command-line flag that sets one field of the provider's configuration. */
export interface ProviderFlag {
  /** Flag name without the leading dashes and provider prefix: `latency-ms` becomes `--fake-latency-ms`. */
  name: string;
  /** The configuration field it sets (top level of the provider's section). */
  field: string;
  type: 'string' | 'number' | 'boolean' | 'list';
  description: string;
}

/**
 * One entry of the registry (providers/index.ts). Kept light: the schema and flags load with the CLI so --help
 * can list them and bad values fail before anything starts; `create` imports the heavy parts (cloud SDKs) lazily.
 */
export interface ProviderDefinition<Config = unknown, Options = unknown> {
  name: string;
  /** One-line summary for --help. */
  summary: string;
  /** The provider's section of --provider-config; unknown fields are errors, defaults are filled in. */
  configSchema: z.ZodType<Config>;
  flags?: readonly ProviderFlag[];
  create(context: ProviderContext, config: Config): Promise<Provider<Options>>;
  /** The cloud load balancer's name for a Service, computed without a call (`drawbridge status` shows it). */
  loadBalancerName?(identity: Pick<LoadBalancerIdentity, 'clusterName' | 'uid'>): string;
}
