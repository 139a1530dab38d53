// The fake provider's registry entry. An in-memory provider for unit tests, the conformance suite, benchmarks and
// chaos runs (`--provider fake`): configurable latency per call, injected faults, and a call log. It builds
// nothing anywhere; its "load balancers" live in the controller's memory.
import { z } from 'zod';
import type { ProviderDefinition } from '../../src/contract/provider.ts';
import type { FakeOptions } from './provider.ts';

export const OPERATIONS = ['start', 'ensure', 'ensureDeleted', 'updateHosts', 'listOwned', 'get', 'plan'] as const;
export type Operation = (typeof OPERATIONS)[number];

export const FAULT_KINDS = ['retryable', 'throttled', 'retryAfter', 'terminal', 'hang'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const FaultSchema = z.strictObject({
  /** Which calls fail; `*` is every operation. */
  operation: z.enum([...OPERATIONS, '*']),
  kind: z.enum(FAULT_KINDS),
  /** Fraction of matching calls that fail (drawn from a seeded generator, so runs repeat). */
  rate: z.number().min(0).max(1).default(1),
  /** Only the first N matching calls fail; unset means no limit. */
  times: z.number().int().positive().optional(),
  /** For `retryAfter`: the delay the error asks for. */
  retryAfterSeconds: z.number().positive().default(1),
});
export type Fault = z.output<typeof FaultSchema>;

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

export const FakeConfigSchema = z.strictObject({
  /** Every call takes this long (abortable), like a cloud round trip. */
  latencyMs: z.number().min(0).default(0),
  /** IPv4 addresses handed out; the default is the benchmarking range of RFC 2544, never routed. */
  addressRange: z
    .string()
    .regex(IPV4_CIDR, 'must be an IPv4 CIDR such as 198.18.0.0/15')
    .refine((v) => v.split(/[./]/).every((n, i) => Number(n) <= (i === 4 ? 30 : 255)), 'octets <= 255, prefix <= 30')
    .default('198.18.0.0/15'),
  /** Report a hostname instead of an IP in the status (as AWS does). */
  hostnames: z.boolean().default(false),
  faults: z.array(FaultSchema).default([]),
  /** Seed of the generator that decides which calls a partial-rate fault hits. */
  seed: z.number().int().default(1),
});
export type FakeConfig = z.output<typeof FakeConfigSchema>;

export const fake: ProviderDefinition<FakeConfig, FakeOptions> = {
  name: 'fake',
  summary: 'in-memory provider for tests and benchmarks: latency, injected faults, a call log',
  configSchema: FakeConfigSchema,
  flags: [
    {
      name: 'latency-ms',
      field: 'latencyMs',
      type: 'number',
      description: 'milliseconds every call takes (default: 0)',
    },
    {
      name: 'address-range',
      field: 'addressRange',
      type: 'string',
      description: 'IPv4 CIDR the fake hands addresses from (default: 198.18.0.0/15)',
    },
    { name: 'hostnames', field: 'hostnames', type: 'boolean', description: 'report hostnames instead of IPs' },
  ],
  create: async (context, config) => new (await import('./provider.ts')).FakeProvider(context, config),
};
