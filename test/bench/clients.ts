// Load from the outside: Services created and deleted by 32 parallel clients (as the side-by-side runs
// did), and Nodes the bench adds, removes and flaps. The test control plane has no kubelet and no node controller,
// so Nodes are plain objects that stay exactly as written.
import { type CoreV1Api, PatchStrategy, setHeaderOptions, type V1Node, type V1Service } from '@kubernetes/client-node';

export const CLIENTS = 32;

/** Runs `work` over `items` with at most `parallel` in flight: 32 clients, each sending its next request when done. */
export async function inParallel<T>(items: readonly T[], work: (item: T) => Promise<unknown>, parallel = CLIENTS) {
  let next = 0;
  const client = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, client));
}

export function serviceNames(n: number): string[] {
  const width = String(n - 1).length;
  return Array.from({ length: n }, (_, i) => `svc-${String(i).padStart(width, '0')}`);
}

function lbService(name: string, provider: string): V1Service {
  return {
    metadata: { name },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: `drawbridge.io/${provider}`,
      selector: { app: name },
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    },
  };
}

export async function createServices(core: CoreV1Api, namespace: string, names: string[], provider: string) {
  await inParallel(names, (name) => core.createNamespacedService({ namespace, body: lbService(name, provider) }));
}

export async function deleteServices(core: CoreV1Api, namespace: string, names: string[]) {
  await inParallel(names, (name) =>
    core.deleteNamespacedService({ name, namespace }).catch((e: { code?: number }) => {
      if (e.code !== 404) throw e;
    }),
  );
}

/** A Ready Node with an InternalIP in 10.200.0.0/16 (never routed: the bench's nodes exist only as objects). */
function nodeBody(name: string, index: number): V1Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    status: {
      addresses: [
        { type: 'Hostname', address: name },
        { type: 'InternalIP', address: `10.200.${Math.floor(index / 250)}.${(index % 250) + 1}` },
      ],
      conditions: [{ type: 'Ready', status: 'True', reason: 'Bench' }],
    },
  };
}

export function nodeNames(prefix: string, n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${String(from + i).padStart(3, '0')}`);
}

export async function createNodes(core: CoreV1Api, names: string[], firstIndex = 0): Promise<void> {
  await inParallel(
    names.map((name, i) => [name, firstIndex + i] as const),
    ([name, i]) => core.createNode({ body: nodeBody(name, i) }),
  );
}

export async function deleteNodes(core: CoreV1Api, names: string[]): Promise<void> {
  await inParallel(names, (name) =>
    core.deleteNode({ name }).catch((e: { code?: number }) => {
      if (e.code !== 404) throw e;
    }),
  );
}

/** Sets the Node's Ready condition, as a kubelet's status update would. */
export async function setNodeReady(core: CoreV1Api, name: string, ready: boolean): Promise<void> {
  const condition = { type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'Bench' : 'BenchFlap' };
  // Strategic merge on status.conditions merges by type, so only Ready changes.
  await core.patchNodeStatus(
    { name, body: { status: { conditions: [condition] } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
}
