// Over 300 lines: the shared fixtures of the integration tests (controller, Services, Nodes, waits) in one place.
// Shared pieces for controller integration tests: run a real Controller in-process against the file's control
// plane, create pools/Services, and read back the state of the world (status, finalizers, Events, metrics).
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  CoordinationV1Api,
  CoreV1Api,
  type CoreV1Event,
  type KubeConfig,
  type V1Lease,
  type V1Node,
  type V1Service,
  type V1ServiceSpec,
} from '@kubernetes/client-node';
import { createPool, installAddressPoolCrd } from '../../providers/metal/pools/install.ts';
import { providerFactory } from '../../src/commands/provider-config.ts';
import { type ControllerConfigInput, parseControllerConfig } from '../../src/core/controller/config.ts';
import { Controller } from '../../src/core/controller/controller.ts';
import { createLogger } from '../../src/lib/observe/logging.ts';
import { eventually } from '../env/harness.ts';

export { createPool, installAddressPoolCrd };

export const METAL_CLASS = 'drawbridge.io/metal';

/** A metal controller with test-friendly timings; stop() it in the test's cleanup. */
export async function startController(
  kubeConfig: KubeConfig,
  overrides: Partial<ControllerConfigInput> = {},
): Promise<Controller> {
  const config = parseControllerConfig({
    provider: 'metal',
    leaderElection: { enabled: false },
    nodeDebounceSeconds: 0.2,
    nodeDebounceMaxSeconds: 2,
    backoffBaseSeconds: 0.2,
    backoffMaxSeconds: 2,
    metrics: { port: -1 },
    health: { port: 1, intervalSeconds: 60 },
    logLevel: 'silent',
    ...overrides,
  });
  const controller = new Controller({
    config,
    kubeConfig,
    provider: providerFactory(config),
    log: createLogger({ level: config.logLevel }),
  });
  await controller.start();
  return controller;
}

export function lbService(
  name: string,
  spec: Partial<V1ServiceSpec> = {},
  annotations?: Record<string, string>,
): V1Service {
  return {
    metadata: { name, annotations },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: METAL_CLASS,
      selector: { app: name },
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      ...spec,
    },
  };
}

export async function createService(core: CoreV1Api, namespace: string, svc: V1Service): Promise<V1Service> {
  return core.createNamespacedService({ namespace, body: svc });
}

export async function readService(core: CoreV1Api, namespace: string, name: string): Promise<V1Service | undefined> {
  return core.readNamespacedService({ name, namespace }).catch((e: { code?: number }) => {
    if (e.code === 404) return undefined;
    throw e;
  });
}

export function ingressIps(svc: V1Service | undefined): string[] {
  return (svc?.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
}

export async function waitForIngress(
  core: CoreV1Api,
  namespace: string,
  name: string,
  // A bound on liveness, not a speed check: a loaded CI machine with moto took more than 20 s here.
  timeoutMs = 60_000,
): Promise<string> {
  return eventually(
    `an ingress IP on ${namespace}/${name}`,
    async () => ingressIps(await readService(core, namespace, name))[0],
    timeoutMs,
  );
}

export async function eventsFor(core: CoreV1Api, namespace: string, name: string): Promise<CoreV1Event[]> {
  const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
  return list.items;
}

export async function waitForEvent(
  core: CoreV1Api,
  namespace: string,
  name: string,
  reason: string,
  // A bound on liveness, not a speed check: a loaded CI machine with moto took more than 20 s here.
  timeoutMs = 60_000,
): Promise<CoreV1Event> {
  return eventually(
    `a ${reason} Event on ${namespace}/${name}`,
    async () => (await eventsFor(core, namespace, name)).find((e) => e.reason === reason),
    timeoutMs,
  );
}

export async function createNamespace(core: CoreV1Api, name: string): Promise<void> {
  await core.createNamespace({ body: { metadata: { name } } });
}

/** A metric's current value from the controller's registry (0 when the series does not exist yet). */
export async function metricValue(
  controller: Controller,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = controller.metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const match = values.filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return match.reduce((sum, v) => sum + v.value, 0);
}

export function coreOf(kubeConfig: KubeConfig): CoreV1Api {
  return kubeConfig.makeApiClient(CoreV1Api);
}

// ---- Waiting for a controller to have done its work, so that a test can then assert what did NOT happen.

/**
 * Whether the controller whose /metrics produced `text` had no Service work at that scrape: no key waiting
 * (queue_depth), and every key a worker took (queue_wait_seconds observes each take) has finished reconciling
 * (reconcile_total counts each end, whatever the outcome). Keys waiting out a backoff are not counted.
 */
export function queueIdleIn(text: string): boolean {
  const taken = sumSamples(text, 'drawbridge_queue_wait_seconds_count');
  const finished = sumSamples(text, 'drawbridge_reconcile_total');
  return sumSamples(text, 'drawbridge_queue_depth') === 0 && taken === finished;
}

/** Node changes the controller has seen but not acted on yet (still in the debounce window). */
function nodeChangesPending(controller: Controller): number {
  return controller.nodeChangesPending;
}

/** `kind/name` -> resourceVersion of every Node and of every Service in `namespace`. */
function versions(nodes: readonly V1Node[], services: readonly V1Service[]): Map<string, string> {
  return new Map([
    ...nodes.map((n) => [`node/${n.metadata?.name}`, n.metadata?.resourceVersion ?? ''] as const),
    ...services.map((s) => [`service/${s.metadata?.name}`, s.metadata?.resourceVersion ?? ''] as const),
  ]);
}

async function liveVersions(core: CoreV1Api, namespace: string): Promise<Map<string, string>> {
  const [nodes, services] = await Promise.all([core.listNode(), core.listNamespacedService({ namespace })]);
  return versions(nodes.items, services.items);
}

function cachedVersions(controller: Controller, namespace: string): Map<string, string> {
  return versions(controller.caches.nodes.list(), controller.caches.services.list(namespace));
}

function sameVersions(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([key, rv]) => b.get(key) === rv);
}

/**
 * Waits until the controller's caches hold every Node, and every Service in `namespace`, exactly as the apiserver
 * has them now: it has seen every change made to them so far (its handlers ran when its cache took the change).
 */
export async function waitForCaughtUp(controller: Controller, core: CoreV1Api, namespace: string): Promise<void> {
  await eventually(`the controller's caches to catch up with ${namespace}`, async () =>
    sameVersions(await liveVersions(core, namespace), cachedVersions(controller, namespace)) ? true : undefined,
  );
}

/**
 * Waits until an in-process controller has settled: it has seen every Node and every Service in `namespace` as
 * they are, no node change waits in the debounce window, no reconcile is queued or running, and none of those
 * objects was written while it got there. What it has not done by then, it will not do for the changes so far.
 */
export async function waitForSettled(
  controller: Controller,
  core: CoreV1Api,
  namespace: string,
  // A bound on liveness, not a speed check: a loaded CI machine with moto took more than 20 s here.
  timeoutMs = 60_000,
): Promise<void> {
  await eventually(
    `the controller to settle (${namespace})`,
    async () => {
      const before = await liveVersions(core, namespace);
      if (!sameVersions(before, cachedVersions(controller, namespace))) return undefined;
      const idle = queueIdleIn(await controller.metrics.registry.metrics()) && nodeChangesPending(controller) === 0;
      return idle && sameVersions(before, await liveVersions(core, namespace)) ? true : undefined;
    },
    timeoutMs,
  );
}

// ---- The controller as a real process (the `drawbridge controller` CLI), for kill/restart and exit-code tests.

const CLI = fileURLToPath(new URL('../../src/commands/main.ts', import.meta.url));

export interface ControllerProcess {
  readonly child: ChildProcess;
  readonly identity: string;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** The port its /metrics server bound (it is started with port 0 and logs the one it got). */
  metricsPort(): Promise<number>;
  /** The process's /metrics, as Prometheus text (one scrape). */
  scrape(): Promise<string>;
  /** Sum of a metric's samples whose labels include `labels`, scraped from the process's /metrics. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `drawbridge controller --provider metal` against the test cluster with test-friendly timings; `args`
 * come last, so they can add flags (--no-leader-elect, --identity, lease timings). The process is SIGKILLed if
 * the test process exits first. `nodeArgs` go to node itself (e.g. --import a loader hook).
 */
export function spawnController(
  kubeconfigPath: string,
  identity: string,
  args: string[] = [],
  nodeArgs: string[] = [],
): ControllerProcess {
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      CLI,
      'controller',
      '--provider',
      'metal',
      '--kubeconfig',
      kubeconfigPath,
      '--identity',
      identity,
      '--metrics-bind-address',
      '127.0.0.1:0',
      // Plain HTTP so tests scrape with fetch; the HTTPS + delegated-auth path has its own test (metrics-auth).
      '--metrics-secure=false',
      '--backoff-base',
      '0.2',
      '--backoff-max',
      '2',
      '--node-debounce',
      '0.2',
      '--health-port',
      '1',
      '--health-interval',
      '60',
      '--log-level',
      'info',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      process.off('exit', killOnExit);
      resolve({ code, signal });
    });
  });
  let port: number | undefined;
  const metricsPort = async () => {
    port ??= await eventually(
      `${identity} to log its metrics port`,
      () => {
        if (child.exitCode !== null) throw new Error(`${identity} exited (${child.exitCode}): ${out.slice(-2000)}`);
        const line = out.split('\n').find((l) => l.includes('serving /metrics'));
        return line ? (JSON.parse(line) as { port: number }).port : undefined;
      },
      30_000,
    );
    return port;
  };
  const scrape = async () => (await fetch(`http://127.0.0.1:${await metricsPort()}/metrics`)).text();
  return {
    child,
    identity,
    output: () => out,
    metricsPort,
    exited,
    scrape,
    async metric(name, labels = {}) {
      return sumSamples(await scrape(), name, labels);
    },
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Sums the samples of `name` in Prometheus text format whose labels include every pair of `labels`. */
export function sumSamples(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** The coordination.k8s.io Lease, or undefined when it does not exist (yet). */
export async function readLease(kubeConfig: KubeConfig, namespace: string, name: string): Promise<V1Lease | undefined> {
  return kubeConfig
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name, namespace })
    .catch((e: { code?: number }) => {
      if (e.code === 404) return undefined;
      throw e;
    });
}

/** Every Service in `namespace` (one LIST). */
export async function listServices(core: CoreV1Api, namespace: string): Promise<V1Service[]> {
  return (await core.listNamespacedService({ namespace })).items;
}
