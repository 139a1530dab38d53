// What the demo puts into a fresh cluster: what the provider's demo hooks ask for (metal: the AddressPool CRD and a
// pool), three Nodes (each with a tiny kube-proxy-style healthz server on its own loopback address, so the node
// prober has something real to probe, unless the provider's set-up gives the Nodes addresses of its own: metal's
// LAN) and a Service of the provider's class.
import { createServer, type Server } from 'node:http';
import { CoreV1Api, type KubeConfig, type V1Service } from '@kubernetes/client-node';
import type { ProviderDefinition } from '../../src/contract/provider.ts';
import { type DemoSetup, demoHooksFor } from './hooks.ts';

export const DEMO_NAMESPACE = 'demo';
const NODE_ADDRESSES = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
export const DEMO_NODES = NODE_ADDRESSES.map((_, i) => `demo-node-${i + 1}`);

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

export async function createDemoObjects(
  kubeConfig: KubeConfig,
  provider: ProviderDefinition,
  setup: DemoSetup = {},
): Promise<V1Service> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await demoHooksFor(provider.name).prepareCluster?.(kubeConfig, setup);
  for (const [i, name] of DEMO_NODES.entries()) {
    const address = setup.nodeAddresses?.[i] ?? NODE_ADDRESSES[i]!;
    // A cloud provider finds a Node's instance by its providerID: one its demo set-up created (aws: seeded EC2
    // instances, ids known only once created) or one its backend holds by name (gcp).
    const providerID = setup.providerIDs?.[i] ?? demoHooksFor(provider.name).providerID?.(name);
    await core
      .createNode({
        body: {
          metadata: { name, labels: { 'kubernetes.io/hostname': name } },
          ...(providerID ? { spec: { providerID } } : {}),
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
          loadBalancerClass: `drawbridge.io/${provider.name}`,
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
