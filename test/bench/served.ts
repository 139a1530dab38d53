// Watches one namespace's Services from the bench's side and timestamps the moment each one first shows an ingress
// address: "served" as a user sees it, independent of what the controller reports about itself.
import { type CoreV1Api, type KubeConfig, ListWatch, type V1Service, Watch } from '@kubernetes/client-node';
import { eventually } from '../env/harness.ts';

export interface ServedWatch {
  /** ms since `t0` at which each Service was first seen served, in order. */
  readonly servedAt: number[];
  served(): number;
  /** Services that exist in the namespace (deleted ones leave once their finalizer is gone). */
  present(): number;
  waitServed(n: number, timeoutMs: number): Promise<unknown>;
  waitGone(timeoutMs: number): Promise<unknown>;
  stop(): Promise<void>;
}

export async function watchServed(kubeConfig: KubeConfig, core: CoreV1Api, namespace: string, t0: () => number) {
  const seen = new Set<string>();
  const servedAt: number[] = [];
  const informer = new ListWatch<V1Service>(
    `/api/v1/namespaces/${namespace}/services`,
    new Watch(kubeConfig),
    () => core.listNamespacedService({ namespace }),
    false,
  );
  const onChange = (svc: V1Service) => {
    const name = svc.metadata?.name ?? '';
    if (seen.has(name) || (svc.status?.loadBalancer?.ingress ?? []).length === 0) return;
    seen.add(name);
    servedAt.push(performance.now() - t0());
  };
  informer.on('add', onChange);
  informer.on('update', onChange);
  await informer.start();
  const watch: ServedWatch = {
    servedAt,
    served: () => seen.size,
    present: () => informer.list(namespace).length,
    waitServed: (n, timeoutMs) =>
      eventually(`${n} Services served (${seen.size} so far)`, () => (seen.size >= n ? true : undefined), timeoutMs),
    waitGone: (timeoutMs) =>
      eventually(
        `every Service in ${namespace} gone`,
        () => (informer.list(namespace).length === 0 ? true : undefined),
        timeoutMs,
      ),
    stop: () => informer.stop(),
  };
  return watch;
}
