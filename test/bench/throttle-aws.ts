// Throttle storm: a burst of one-port Services against moto, once straight and once behind the fault proxy
// throttling 20% of calls (ELBv2 400 Throttling, EC2 503 RequestLimitExceeded, before moto acts, as AWS does),
// with the provider's default limiters. How much longer the throttled burst takes until every Service has its
// hostname, how many ensures the --provider-call-timeout deadline aborted, and where each family's adaptive rate
// ended. The controller runs in this process (the figures are times and counters, not its memory or CPU).
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Controller } from '../../src/core/controller/controller.ts';
import { eventually } from '../env/harness.ts';
import { listServices, startController, sumSamples } from '../integration/support.ts';
import { type Faults, recordingProxy, startMoto } from '../support/moto.ts';
import { inParallel } from './clients.ts';
import type { Result } from './result.ts';
import type { BenchEnv } from './session.ts';

const CLUSTER = 'bench-aws';
const SEEDED = ['node-a=10.0.0.10@a', 'node-b=10.0.1.10@b', 'node-c=10.0.0.11@a'];
const THROTTLED: Faults = { throttle: 0.2, serverError: 0, seed: 20 };
/** The controller's default deadline of one provider call (--provider-call-timeout). */
const CALL_TIMEOUT_SECONDS = 120;

interface Round {
  seconds: number;
  deadlineAborts: number;
  /** Provider calls (ensures) that failed with AwsThrottled: a throttle the provider's resends did not absorb. */
  throttledFailures: number;
  throttlesInjected: number;
  requests: number;
  /** drawbridge_aws_api_rate_limit by family when the burst was served. */
  rates: Record<string, number>;
}

async function round(
  env: BenchEnv,
  endpoint: string,
  nodes: Record<string, { providerID: string; ip: string }>,
  label: string,
  n: number,
  faults?: Faults,
): Promise<Round> {
  const proxy = await recordingProxy(endpoint, faults ? { faults } : {});
  const core: CoreV1Api = env.core;
  const namespace = `bench-aws-${label}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const nodeNames = Object.keys(nodes).map((name) => `${label}-${name}`);
  for (const [name, node] of Object.entries(nodes)) {
    await core.createNode({
      body: {
        metadata: { name: `${label}-${name}` },
        spec: { providerID: node.providerID },
        status: { addresses: [{ type: 'InternalIP', address: node.ip }] },
      },
    });
  }
  let controller: Controller | undefined;
  try {
    controller = await startController(env.kubeConfig, {
      provider: 'aws',
      // The default limiters: what a deployment gets.
      providerConfig: { region: 'us-east-1', endpoint: proxy.endpoint },
      clusterName: CLUSTER,
      providerCallTimeoutSeconds: CALL_TIMEOUT_SECONDS,
    });
    const names = Array.from({ length: n }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
    const started = performance.now();
    await inParallel(names, (name) =>
      core.createNamespacedService({
        namespace,
        body: {
          metadata: { name },
          spec: {
            type: 'LoadBalancer',
            loadBalancerClass: 'drawbridge.io/aws',
            selector: { app: name },
            ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
          },
        },
      }),
    );
    await eventually(
      `${label}: every Service to get its hostname`,
      async () => {
        const services = await listServices(core, namespace);
        return services.length === n && services.every((s) => s.status?.loadBalancer?.ingress?.[0]?.hostname)
          ? true
          : undefined;
      },
      600_000,
    );
    const seconds = (performance.now() - started) / 1000;
    const text = await controller.metrics.registry.metrics();
    const rates: Record<string, number> = {};
    for (const family of ['elbv2Read', 'elbv2Write', 'ec2'])
      rates[family] = sumSamples(text, 'drawbridge_aws_api_rate_limit', { family });
    const result = {
      seconds,
      deadlineAborts: sumSamples(text, 'drawbridge_provider_call_timeouts_total'),
      throttledFailures: sumSamples(text, 'drawbridge_provider_calls_total', { result: 'AwsThrottled' }),
      throttlesInjected: proxy.requests.filter((r) => r.fault === 'throttle').length,
      requests: proxy.requests.length,
      rates,
    };
    env.log(`throttle-aws ${label}: ${JSON.stringify(result)}`);
    // Everything made goes again, so the next round starts from the same empty account.
    await inParallel(names, (name) => core.deleteNamespacedService({ name, namespace }));
    await eventually(
      `${label}: every Service deleted`,
      async () => ((await listServices(core, namespace)).length === 0 ? true : undefined),
      600_000,
    );
    return result;
  } finally {
    await controller?.stop();
    for (const name of nodeNames) await core.deleteNode({ name });
    await core.deleteNamespace({ name: namespace });
    await proxy.close();
  }
}

export async function throttleAws(env: BenchEnv, n: number): Promise<Result> {
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  const moto = await startMoto(CLUSTER, SEEDED);
  try {
    const plain = await round(env, moto.endpoint, moto.seed.nodes, 'unthrottled', n);
    const throttled = await round(env, moto.endpoint, moto.seed.nodes, 'throttled', n, THROTTLED);
    return {
      scenario: 'throttle-aws',
      provider: 'aws',
      n,
      figures: {
        aws_throttle_burst_seconds_unthrottled: plain.seconds,
        aws_throttle_burst_seconds_throttled: throttled.seconds,
        ratio: throttled.seconds / plain.seconds,
        deadline_aborts: plain.deadlineAborts + throttled.deadlineAborts,
        throttled_ensure_failures: throttled.throttledFailures,
        throttles_injected: throttled.throttlesInjected,
        requests_throttled_run: throttled.requests,
        rate_elbv2_read: throttled.rates.elbv2Read ?? 0,
        rate_elbv2_write: throttled.rates.elbv2Write ?? 0,
        rate_ec2: throttled.rates.ec2 ?? 0,
      },
    };
  } finally {
    await moto.stop();
  }
}
