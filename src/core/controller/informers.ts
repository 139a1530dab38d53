// The three caches the controller reads: Services, Nodes and EndpointSlices (all namespaces).
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { KubeClient } from '../../lib/kube/api/client.ts';
import { type ResilientInformer, resilientInformer } from '../../lib/kube/informer.ts';
import { slimNode, slimObject } from '../../lib/kube/slim.ts';
import type { Logger } from '../../lib/observe/logging.ts';
import type { ClusterView } from './reconcile-deps.ts';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface Caches {
  services: ResilientInformer<V1Service>;
  nodes: ResilientInformer<V1Node>;
  slices: ResilientInformer<V1EndpointSlice>;
  view: ClusterView;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createCaches(client: KubeClient, log: Logger): Caches {
  const onError = (what: string) => (error: unknown, retryInMs: number) =>
    log.warn(
      { informer: what, err: String((error as Error)?.message ?? error), retryInMs },
      'watch failed; restarting',
    );
  const services = resilientInformer<V1Service>({
    client,
    path: '/api/v1/services',
    transform: slimObject,
    onError: onError('services'),
  });
  const nodes = resilientInformer<V1Node>({
    client,
    path: '/api/v1/nodes',
    transform: slimNode,
    onError: onError('nodes'),
  });
  const slices = resilientInformer<V1EndpointSlice>({
    client,
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    transform: slimObject,
    onError: onError('endpointslices'),
  });
  const view: ClusterView = {
    service: (namespace, name) => services.get(name, namespace),
    nodes: () => nodes.list(),
    endpointSlices: (namespace, serviceName) =>
      slices.list(namespace).filter((s) => s.metadata?.labels?.[SERVICE_NAME_LABEL] === serviceName),
  };
  return {
    services,
    nodes,
    slices,
    view,
    start: async () => {
      await Promise.all([services.start(), nodes.start(), slices.start()]);
    },
    stop: async () => {
      await Promise.all([services.stop(), nodes.stop(), slices.stop()]);
    },
  };
}

export function serviceNameOfSlice(slice: V1EndpointSlice): string | undefined {
  return slice.metadata?.labels?.[SERVICE_NAME_LABEL];
}
