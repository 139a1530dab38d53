// Throttle, gcp: a burst of 20 one-port Services against the GCE fake, once with every request answered and once
// with 20% of them (reads, writes and operation polls alike) answered 403 rateLimitExceeded. How long until every
// Service has its IP in each run, their ratio, how many provider calls the core aborted at their deadline
// (--provider-call-timeout), and the adaptive rate each GCE API family ends the throttled run at. The controller
// runs in this process with the production timings (backoff, deadline), only leader election and serving off.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { providerFactory } from '../../src/commands/provider-config.ts';
import { parseControllerConfig } from '../../src/core/controller/config.ts';
import { Controller } from '../../src/core/controller/controller.ts';
import { createLogger } from '../../src/lib/observe/logging.ts';
import { startGceFake } from '../fakes/gce/server.ts';
import { inParallel, serviceNames } from './clients.ts';
import type { Result } from './result.ts';
import type { BenchEnv } from './session.ts';

const SERVICES = 20;
const THROTTLED_SHARE = 0.2;
const PROJECT = 'bench-proj';
const ZONE = 'us-central1-a';
const NODES = ['gcp-bench-a', 'gcp-bench-b', 'gcp-bench-c'];

interface Run {
  seconds: number;
  deadlineAborts: number;
  throttledAnswers: number;
  rates: Record<string, number>;
}

export async function throttleGcp(env: BenchEnv): Promise<Result> {
  const core = env.kubeConfig.makeApiClient(CoreV1Api);
  for (const name of NODES) {
    await core.createNode({ body: { metadata: { name }, spec: { providerID: `gce://${PROJECT}/${ZONE}/${name}` } } });
  }
  try {
    const unthrottled = await burst(env, core, 'unthrottled', 0);
    const throttled = await burst(env, core, 'throttled', THROTTLED_SHARE);
    return {
      scenario: 'throttle',
      provider: 'gcp',
      n: SERVICES,
      figures: {
        gcp_throttle_burst_seconds_unthrottled: unthrottled.seconds,
        gcp_throttle_burst_seconds_throttled: throttled.seconds,
        ratio: throttled.seconds / unthrottled.seconds,
        deadline_aborts: unthrottled.deadlineAborts + throttled.deadlineAborts,
        throttled_answers: throttled.throttledAnswers,
        ...Object.fromEntries(Object.entries(throttled.rates).map(([family, r]) => [`final_rate_${family}`, r])),
      },
    };
  } finally {
    for (const name of NODES) await core.deleteNode({ name });
  }
}

async function burst(env: BenchEnv, core: CoreV1Api, label: string, share: number): Promise<Run> {
  // GCE answers in tens of milliseconds and finishes an operation in a few hundred.
  const fake = await startGceFake({ operationMs: 200, faults: { latencyMs: 20 } });
  for (const name of NODES) fake.seedInstance(PROJECT, ZONE, name);
  const namespace = `bench-throttle-gcp-${label}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const controller = await startController(env.kubeConfig, fake.endpoint);
  try {
    fake.faults.rateLimitRate = share;
    const names = serviceNames(SERVICES);
    const t0 = performance.now();
    await inParallel(names, (name) => core.createNamespacedService({ namespace, body: service(name) }));
    await untilAllServed(core, namespace);
    const seconds = (performance.now() - t0) / 1000;
    env.log(`throttle gcp ${label}: ${SERVICES} served in ${seconds.toFixed(1)} s`);
    const text = await controller.metrics.registry.metrics();
    const run: Run = {
      seconds,
      deadlineAborts: sum(text, 'drawbridge_provider_call_timeouts_total'),
      throttledAnswers: fake.log.entries.filter((e) => e.status === 403).length,
      rates: Object.fromEntries(
        ['read', 'write', 'operationRead'].map((f) => [f, sum(text, 'drawbridge_gcp_api_rate_limit', f)]),
      ),
    };
    // Cleaning up is not measured: every request answered again.
    fake.faults.rateLimitRate = 0;
    await inParallel(names, (name) => core.deleteNamespacedService({ name, namespace }));
    await until(async () => (await core.listNamespacedService({ namespace })).items.length === 0);
    return run;
  } finally {
    await controller.stop();
    await core.deleteNamespace({ name: namespace });
    await fake.close();
  }
}

async function startController(kubeConfig: KubeConfig, endpoint: object): Promise<Controller> {
  const config = parseControllerConfig({
    provider: 'gcp',
    providerConfig: { project: PROJECT, region: 'us-central1', endpoint },
    clusterName: 'bench',
    leaderElection: { enabled: false },
    metrics: { port: -1 },
    health: { port: 1, intervalSeconds: 60 },
    logLevel: 'silent',
  });
  const log = createLogger({ level: config.logLevel });
  const controller = new Controller({ config, kubeConfig, provider: providerFactory(config), log });
  await controller.start();
  return controller;
}

function service(name: string) {
  return {
    metadata: { name },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: 'drawbridge.io/gcp',
      selector: { app: name },
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
    },
  };
}

async function untilAllServed(core: CoreV1Api, namespace: string): Promise<void> {
  await until(async () => {
    const { items } = await core.listNamespacedService({ namespace });
    return items.length === SERVICES && items.every((s) => (s.status?.loadBalancer?.ingress ?? []).length > 0);
  });
}

async function until(done: () => Promise<boolean>, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`throttle gcp: not done within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The sum of a metric's samples (those with family=`family` when given) in Prometheus text. */
function sum(text: string, name: string, family?: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m?.[1] !== name || (family !== undefined && !m[2]?.includes(`family="${family}"`))) continue;
    total += Number(m[3]);
  }
  return total;
}
