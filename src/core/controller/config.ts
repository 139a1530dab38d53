// The controller's configuration: parsed once at the edge (CLI flags, tests) into a typed model.
// Every problem is reported with its path, not just the first.
import { hostname } from 'node:os';
import { z } from 'zod';

const seconds = z.number().positive();

export const ControllerConfigSchema = z
  .object({
    provider: z.string().min(1),
    /** The selected provider's options (its --provider-config section with its flags on top), unvalidated here:
     * the provider's own schema checks them (src/commands/provider-config.ts). */
    providerConfig: z.record(z.string(), z.unknown()).default({}),
    clusterName: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lowercase letters, digits and dashes')
      .max(32)
      .default('drawbridge'),
    /** loadBalancerClass served; defaults to drawbridge.io/<provider>. */
    loadBalancerClass: z.string().min(1).optional(),
    /** Also own Services with no loadBalancerClass (the "default cloud provider" deployment). */
    ownClassless: z.boolean().default(false),
    concurrency: z.number().int().min(1).max(256).default(32),
    /** One provider call gets this long before its signal is aborted and the key retried with backoff; 0: no limit. */
    providerCallTimeoutSeconds: z.number().min(0).default(120),
    backoffBaseSeconds: seconds.default(5),
    backoffMaxSeconds: seconds.default(300),
    /** Every Service is reconciled again this often, repairing drift; 0 disables. */
    resyncSeconds: z.number().min(0).default(300),
    nodeDebounceSeconds: z.number().min(0).default(1),
    nodeDebounceMaxSeconds: z.number().min(0).default(10),
    health: z
      .object({
        port: z.number().int().min(1).max(65535).default(10256),
        path: z.string().startsWith('/').default('/healthz'),
        intervalSeconds: seconds.default(10),
        timeoutSeconds: seconds.default(2),
        failureThreshold: z.number().int().min(1).default(3),
      })
      .prefault({}),
    leaderElection: z
      .object({
        enabled: z.boolean().default(true),
        namespace: z.string().min(1).default('kube-system'),
        name: z.string().min(1).default('drawbridge-controller'),
        leaseDurationSeconds: seconds.default(15),
        renewDeadlineSeconds: seconds.default(10),
        retryPeriodSeconds: seconds.default(2),
      })
      .prefault({}),
    identity: z.string().min(1).default(`${hostname()}-${process.pid}`),
    metrics: z
      .object({
        host: z.string().default('0.0.0.0'),
        /** 0 picks a free port; -1 disables the server. */
        port: z.number().int().min(-1).max(65535).default(9090),
        /** HTTPS with TokenReview + SubjectAccessReview on /metrics; false is plain, open HTTP (labs, the demo). */
        secure: z.boolean().default(true),
        /** tls.crt and tls.key; unset: a self-signed certificate is generated at start. */
        certDir: z.string().min(1).optional(),
      })
      .prefault({}),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((c, ctx) => {
    if (c.backoffMaxSeconds < c.backoffBaseSeconds) {
      ctx.addIssue({ code: 'custom', path: ['backoffMaxSeconds'], message: 'must be >= backoffBaseSeconds' });
    }
    if (c.nodeDebounceMaxSeconds < c.nodeDebounceSeconds) {
      ctx.addIssue({ code: 'custom', path: ['nodeDebounceMaxSeconds'], message: 'must be >= nodeDebounceSeconds' });
    }
    const le = c.leaderElection;
    if (le.renewDeadlineSeconds >= le.leaseDurationSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['leaderElection', 'renewDeadlineSeconds'],
        message: 'must be < leaseDurationSeconds',
      });
    }
    if (le.retryPeriodSeconds >= le.renewDeadlineSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['leaderElection', 'retryPeriodSeconds'],
        message: 'must be < renewDeadlineSeconds',
      });
    }
  });

export type ControllerConfigInput = z.input<typeof ControllerConfigSchema>;
export type ControllerConfig = z.output<typeof ControllerConfigSchema> & { loadBalancerClass: string };

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

export function parseControllerConfig(input: ControllerConfigInput): ControllerConfig {
  const result = ControllerConfigSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return {
    ...result.data,
    loadBalancerClass: result.data.loadBalancerClass ?? `drawbridge.io/${result.data.provider}`,
  };
}
