// What the demo puts into a fresh cluster: the AddressPool CRD, a pool, three Nodes (each with a tiny kube-proxy-
// style healthz server on its own loopback address, so the node prober has something real to probe) and a Service.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  loadYaml,
  type V1CustomResourceDefinition,
  type V1Service,
} from '@kubernetes/client-node';
import { ADDRESS_POOL_CRD_FILE } from '../../providers/metal/pools/crd.ts';

export const DEMO_NAMESPACE = 'demo';
/** TEST-NET-2 (RFC 5737): documentation addresses. They are only allocated, never sent traffic. */
export const DEMO_POOL_CIDR = '198.51.100.0/28';
const NODE_ADDRESSES = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];

export async function installAddressPoolCrd(kubeConfig: KubeConfig): Promise<void> {
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const crd = loadYaml<V1CustomResourceDefinition>(
    await readFile(new URL(`../../${ADDRESS_POOL_CRD_FILE}`, import.meta.url), 'utf8'),
  );
  const name = crd.metadata?.name ?? '';
  await api.createCustomResourceDefinition({ body: crd }).catch((e: { code?: number }) => {
    if (e.code !== 409) throw e;
  });
  for (let i = 0; i < 100; i++) {
    const current = await api.readCustomResourceDefinition({ name });
    if (current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`CRD ${name} did not become Established`);
}

export async function createPool(
  kubeConfig: KubeConfig,
  name: string,
  addresses: string[],
  extra: Record<string, unknown> = {},
) {
  await kubeConfig.makeApiClient(CustomObjectsApi).createClusterCustomObject({
    group: 'drawbridge.io',
    version: 'v1alpha1',
    plural: 'addresspools',
    body: {
      apiVersion: 'drawbridge.io/v1alpha1',
      kind: 'AddressPool',
      metadata: { name },
      spec: { addresses, ...extra },
    },
  });
}

/** Starts one healthz server per demo node, all on the same port; returns the port and a stopper. */
export async function startNodeHealthServers(): Promise<{ port: number; close(): Promise<void> }> {
  const servers: Server[] = [];
  let port = 0;
  for (const address of NODE_ADDRESSES) {
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ lastUpdated: new Date().toISOString(), currentTime: new Date().toISOString() }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => resolve());
    });
    const bound = server.address();
    if (port === 0 && bound && typeof bound === 'object') port = bound.port;
    servers.push(server);
  }
  return {
    port,
    close: () => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => {}),
  };
}

export async function createDemoObjects(kubeConfig: KubeConfig): Promise<V1Service> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await installAddressPoolCrd(kubeConfig);
  await createPool(kubeConfig, 'demo-pool', [DEMO_POOL_CIDR], { avoidBuggyIPs: true }).catch(ignoreConflict);
  for (const [i, address] of NODE_ADDRESSES.entries()) {
    await core
      .createNode({
        body: {
          metadata: { name: `demo-node-${i + 1}`, labels: { 'kubernetes.io/hostname': `demo-node-${i + 1}` } },
          status: { addresses: [{ type: 'InternalIP', address }] },
        },
      })
      .catch(ignoreConflict);
  }
  await core.createNamespace({ body: { metadata: { name: DEMO_NAMESPACE } } }).catch(ignoreConflict);
  return core
    .createNamespacedService({
      namespace: DEMO_NAMESPACE,
      body: {
        metadata: { name: 'web' },
        spec: {
          type: 'LoadBalancer',
          loadBalancerClass: 'drawbridge.io/metal',
          selector: { app: 'web' },
          ports: [{ name: 'http', port: 80, targetPort: 8080 }],
        },
      },
    })
    .catch(async (e: { code?: number }) => {
      if (e.code !== 409) throw e;
      return core.readNamespacedService({ name: 'web', namespace: DEMO_NAMESPACE });
    });
}

function ignoreConflict(e: { code?: number }): void {
  if (e.code !== 409) throw e;
}
