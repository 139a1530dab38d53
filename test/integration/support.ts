// Shared pieces for controller integration tests: run a real Controller in-process against the file's control
// plane, create pools/Services, and read back the state of the world (status, finalizers, Events, metrics).
import {
  CoreV1Api,
  type CoreV1Event,
  type KubeConfig,
  type V1Service,
  type V1ServiceSpec,
} from '@kubernetes/client-node';
import { createPool, installAddressPoolCrd } from '../../src/cli/demo-cluster.ts';
import { type ControllerConfigInput, parseControllerConfig } from '../../src/controller/config.ts';
import { Controller } from '../../src/controller/controller.ts';
import { createLogger } from '../../src/observe/logging.ts';
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
  const controller = new Controller({ config, kubeConfig, log: createLogger({ level: config.logLevel }) });
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
  timeoutMs = 20_000,
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
  timeoutMs = 20_000,
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
