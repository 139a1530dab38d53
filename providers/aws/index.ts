// The aws provider's registry entry: one Network Load Balancer per Service, instance targets on the NodePorts.
// Light on purpose: the AWS SDK loads only in `create`. Credentials come from the SDK's default chain (env,
// shared config, IMDS/IRSA), never from a flag or this config.
import { z } from 'zod';
import type { ProviderDefinition } from '../../src/contract/provider.ts';
import type { AwsOptions } from './annotations.ts';
import { loadBalancerName } from './names.ts';

/** A bottleneck limiter: at most `maxConcurrent` calls in flight, at least `minTimeMs` between starts. */
const LimiterSchema = (maxConcurrent: number, minTimeMs: number) =>
  z.strictObject({
    maxConcurrent: z.number().int().positive().default(maxConcurrent),
    minTimeMs: z.number().int().min(0).default(minTimeMs),
  });

export const AwsConfigSchema = z.strictObject({
  region: z
    .string({ error: 'region is required: the AWS region of the cluster, e.g. us-east-1' })
    .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as us-east-1'),
  /** Endpoint override (moto, LocalStack); unset means AWS_ENDPOINT_URL, else the real AWS endpoints. */
  endpoint: z.url().optional(),
  /**
   * One limiter per API family, shared by every reconcile. Defaults stay under the published ELB token buckets
   * (Describe* refills 10/s) and ALBC's tuned defaults (Register/Deregister 4/s, Modify* 3/s).
   */
  limiters: z
    .strictObject({
      elbv2Read: LimiterSchema(8, 100).prefault({}),
      elbv2Write: LimiterSchema(2, 250).prefault({}),
      ec2: LimiterSchema(4, 100).prefault({}),
    })
    .prefault({}),
});
export type AwsConfig = z.output<typeof AwsConfigSchema>;

export const aws: ProviderDefinition<AwsConfig, AwsOptions> = {
  name: 'aws',
  summary: 'AWS: a Network Load Balancer per Service, instance targets on the NodePorts, node SG rules',
  loadBalancerName,
  configSchema: AwsConfigSchema,
  flags: [
    { name: 'region', field: 'region', type: 'string', description: 'AWS region of the cluster (required)' },
    {
      name: 'endpoint',
      field: 'endpoint',
      type: 'string',
      description: 'AWS endpoint override, e.g. http://127.0.0.1:4566 (default: $AWS_ENDPOINT_URL)',
    },
  ],
  create: async (context, config) => {
    const provider = new (await import('./provider.ts')).AwsProvider(context, config);
    const endpoint = config.endpoint ?? process.env.AWS_ENDPOINT_URL;
    await provider.checkEndpoint(endpoint ? `endpoint ${endpoint}` : `AWS in ${config.region}`);
    return provider;
  },
};
