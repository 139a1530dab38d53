// The gcp provider's registry entry: cloud-provider-gcp's legacy target-pool network load balancer (static
// address when requested, legacy HTTP health check, firewall rules, target pool, regional forwarding rule).
// Light on purpose: @google-cloud/compute loads only in `create`, when this provider is chosen.
import { z } from 'zod';
import type { ProviderDefinition } from '../../src/contract/provider.ts';
import type { GcpOptions } from './annotations.ts';
import { namesFor } from './names.ts';

const name = (what: string) =>
  z
    .string({ error: `required: ${what}` })
    .regex(
      /^[a-z][-a-z0-9]*[a-z0-9]$/,
      `must be a GCE ${what} such as ${what === 'region' ? 'us-central1' : 'my-project'}`,
    );

export const GcpConfigSchema = z.strictObject({
  /** The GCP project ID that holds the cluster's instances. */
  project: name('project'),
  region: name('region'),
  /** The VPC network the firewall rules apply to. */
  network: z.string().min(1).default('default'),
  /** The subnetwork of internal load balancers' rules (and whose IPv6 range an IPv6 rule takes), in `region`. */
  subnetwork: z.string().min(1).default('default'),
  /** Zones searched for nodes that have no gce:// providerID (the node name is the instance name). */
  zones: z.array(z.string().min(1)).default([]),
  /** Instance network tags the firewall rules target; empty applies them to every instance of the network. */
  nodeTags: z.array(z.string().min(1)).default([]),
  /** Another Compute endpoint (the GCE fake: {apiEndpoint: '127.0.0.1', port, protocol: 'http'}); no auth over http. */
  endpoint: z
    .strictObject({
      apiEndpoint: z.string().min(1),
      port: z.number().int().min(1).max(65535),
      protocol: z.enum(['http', 'https']).default('https'),
    })
    .optional(),
  /** Client-side rate limits, sized to GCE's default per-project per-minute API quotas. */
  limits: z
    .strictObject({
      readsPerMinute: z.number().int().positive().default(1500),
      writesPerMinute: z.number().int().positive().default(1500),
      operationReadsPerMinute: z.number().int().positive().default(3000),
      maxConcurrent: z.number().int().positive().default(8),
    })
    .prefault({}),
  /** Reads (gets, list pages, operation waits) answered 5xx are retried here: attempts in all, jittered backoff. */
  readRetry: z
    .strictObject({
      attempts: z.number().int().min(1).max(10).default(4),
      baseDelayMs: z.number().int().min(0).default(250),
      maxDelayMs: z.number().int().min(0).default(4000),
    })
    .prefault({}),
});
export type GcpConfig = z.output<typeof GcpConfigSchema> & {
  /** From the ProviderContext, not the configuration. */
  clusterName: string;
};

export const gcp: ProviderDefinition<z.output<typeof GcpConfigSchema>, GcpOptions> = {
  name: 'gcp',
  summary: 'GCE target-pool network load balancer (address, legacy HTTP health check, firewalls, pool, rule)',
  loadBalancerName: (identity) => namesFor(identity).lb,
  configSchema: GcpConfigSchema,
  flags: [
    { name: 'project', field: 'project', type: 'string', description: 'GCP project ID (required)' },
    { name: 'region', field: 'region', type: 'string', description: 'GCE region, e.g. us-central1 (required)' },
    {
      name: 'network',
      field: 'network',
      type: 'string',
      description: 'VPC network for firewall rules (default: default)',
    },
    { name: 'zones', field: 'zones', type: 'list', description: 'zones to find nodes without a gce:// providerID' },
    { name: 'node-tags', field: 'nodeTags', type: 'list', description: 'instance tags the firewall rules target' },
  ],
  // Credentials: Application Default Credentials only; an http endpoint (the fake) gets no credentials at all.
  create: async (context, config) => {
    const [{ GcpProvider }, { GceBackends }, { GoogleAuth, PassThroughClient }] = await Promise.all([
      import('./provider.ts'),
      import('./gce-backends.ts'),
      import('google-auth-library'),
    ]);
    const auth =
      config.endpoint?.protocol === 'http'
        ? new PassThroughClient()
        : new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/compute'] });
    // The adaptive rate of each API family (read, write, operationRead): halved when throttles are dense among its
    // recent answers, regained per success.
    const rate = context.metrics.gauge({
      name: 'api_rate_limit',
      help: 'Calls per second the gcp provider allows itself per GCE API family (adaptive: halved on dense throttles)',
      labelNames: ['family'] as const,
    });
    const gce = new GceBackends({
      onRate: (family, value) => rate.set({ family }, value),
      project: config.project,
      region: config.region,
      endpoint: config.endpoint,
      limits: config.limits,
      readRetry: config.readRetry,
      auth,
    });
    return new GcpProvider(context, { ...config, clusterName: context.clusterName }, gce);
  },
};
