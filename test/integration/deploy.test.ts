// deploy/ is true to the code: every manifest is accepted by a real apiserver, and the controller runs with the
// Deployment's exact arguments under the ServiceAccount and RBAC from deploy/ (nothing more), serving a
// Service, holding its Lease in drawbridge-system, and exiting 0 on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadAllYaml,
  RbacAuthorizationV1Api,
  type V1Deployment,
} from '@kubernetes/client-node';
import { eventually, useControlPlane } from '../env/harness.ts';
import { manifestTools, render } from '../env/tools.ts';
import { httpsGet, serviceAccountToken } from './serviceaccounts.ts';
import { createNamespace, createPool, createService, eventsFor, lbService, waitForIngress } from './support.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const cluster = useControlPlane();

/** deploy/overlays/metal as kustomize renders it: base (CRD, namespace, RBAC, controller) plus the speaker. */
async function manifests(): Promise<KubernetesObject[]> {
  const { kustomize } = await manifestTools();
  const docs = loadAllYaml(
    await render(kustomize, ['build', join(repo, 'deploy/overlays/metal')]),
  ) as KubernetesObject[];
  assert.ok(docs.length >= 10, `the overlay renders the manifests (${docs.length})`);
  return docs;
}

async function serviceAccountKubeconfig(): Promise<string> {
  const token = await cluster.core.createNamespacedServiceAccountToken({
    name: 'drawbridge-controller',
    namespace: 'drawbridge-system',
    body: { spec: { audiences: ['https://kubernetes.default.svc.cluster.local'], expirationSeconds: 3600 } },
  });
  const admin = cluster.kubeConfig.getCurrentCluster();
  assert.ok(admin);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [admin],
    users: [{ name: 'sa', token: token.status?.token }],
    contexts: [{ name: 'sa', cluster: admin.name, user: 'sa' }],
    currentContext: 'sa',
  });
  const path = join(tmpdir(), `drawbridge-sa-${process.pid}.kubeconfig`);
  await writeFile(path, kc.exportConfig(), { mode: 0o600 });
  return path;
}

test('every manifest in deploy/ is accepted by the apiserver', async () => {
  const api = KubernetesObjectApi.makeApiClient(cluster.kubeConfig);
  for (const doc of await manifests()) {
    await api.create(doc);
  }
  const deployment = await cluster.kubeConfig
    .makeApiClient(AppsV1Api)
    .readNamespacedDeployment({ name: 'drawbridge-controller', namespace: 'drawbridge-system' });
  assert.equal(deployment.spec?.template.spec?.serviceAccountName, 'drawbridge-controller');
});

test("the controller runs with the Deployment's arguments and only deploy/'s RBAC", async () => {
  const docs = await manifests();
  const deployment = docs.find((d) => d.kind === 'Deployment') as V1Deployment;
  const args = deployment.spec?.template.spec?.containers[0]?.args ?? [];
  assert.equal(args[0], 'controller');
  const kubeconfig = await serviceAccountKubeconfig();

  await createPool(cluster.kubeConfig, 'deploy-pool', ['192.0.2.64/28']);
  await createNamespace(cluster.core, 'apps');
  await createService(cluster.core, 'apps', lbService('shop'));

  // The manifest's own arguments; later flags only move the metrics port to loopback for the test.
  const child = spawn(
    process.execPath,
    [
      join(repo, 'src/cli/main.ts'),
      ...args,
      '--kubeconfig',
      kubeconfig,
      '--metrics-bind-address',
      '127.0.0.1:0',
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const ip = await waitForIngress(cluster.core, 'apps', 'shop', 30_000);
    assert.match(ip, /^192\.0\.2\.(6[4-9]|7\d)$/);
    const reasons = (await eventsFor(cluster.core, 'apps', 'shop')).map((e) => e.reason);
    assert.ok(reasons.includes('EnsuredLoadBalancer'), 'the ServiceAccount may record Events');
    const lease = await eventually('the leader Lease in drawbridge-system', () =>
      cluster.kubeConfig
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ name: 'drawbridge-controller', namespace: 'drawbridge-system' })
        .catch(() => undefined),
    );
    assert.ok(lease.spec?.holderIdentity, 'a replica holds the Lease');

    // The probes the Deployment points at (HTTPS, no token), and the metrics it exposes to a scraper bound to
    // deploy/'s metrics-reader ClusterRole; without a token or that binding, /metrics is refused.
    const port = await eventually('the metrics port in the log', () => {
      const line = out.split('\n').find((l) => l.includes('serving /metrics'));
      return line ? (JSON.parse(line) as { port: number }).port : undefined;
    });
    const url = `https://127.0.0.1:${port}`;
    for (const path of ['/healthz', '/readyz']) {
      const res = await httpsGet(url + path);
      assert.equal(`${res.status} ${res.body.trim()}`, '200 ok', path);
    }
    await cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({
      body: {
        metadata: { name: 'prometheus-drawbridge-metrics' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'drawbridge-metrics-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'apps' }],
      },
    });
    const scraper = await serviceAccountToken(cluster.core, 'apps', 'prometheus');
    const stranger = await serviceAccountToken(cluster.core, 'apps', 'stranger');
    assert.equal((await httpsGet(`${url}/metrics`)).status, 401);
    assert.equal((await httpsGet(`${url}/metrics`, stranger)).status, 403);
    const scrape = await httpsGet(`${url}/metrics`, scraper);
    assert.equal(scrape.status, 200);
    const metrics = scrape.body;
    assert.match(metrics, /^drawbridge_leader\{identity="[^"]+"\} 1$/m, 'this replica reports itself leader');
    assert.match(metrics, /^drawbridge_reconcile_total\{provider="metal",outcome="ensured"\} [1-9]/m);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, 'SIGTERM is a graceful stop');
});

test("the controller's ServiceAccount cannot read Secrets, write Pods, or touch what it does not own", async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(await serviceAccountKubeconfig());
  const core = kc.makeApiClient(CoreV1Api);
  const forbidden = async (what: string, call: () => Promise<unknown>) => {
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal((error as { code?: number } | undefined)?.code, 403, `${what} must be forbidden`);
  };
  await forbidden('creating a Secret', () =>
    core.createNamespacedSecret({ namespace: 'apps', body: { metadata: { name: 'mine' }, stringData: { a: 'b' } } }),
  );
  await cluster.core.createNamespacedSecret({
    namespace: 'apps',
    body: { metadata: { name: 'decoy' }, stringData: { a: 'b' } },
  });
  await forbidden('reading a Secret', () => core.readNamespacedSecret({ name: 'decoy', namespace: 'apps' }));
  await forbidden('listing Secrets', () => core.listSecretForAllNamespaces());
  await forbidden('listing Secrets in its own namespace', () =>
    core.listNamespacedSecret({ namespace: 'drawbridge-system' }),
  );
  const pod = { metadata: { name: 'evil' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
  await forbidden('creating a Pod', () => core.createNamespacedPod({ namespace: 'apps', body: pod }));
  await forbidden('deleting Pods', () => core.deleteCollectionNamespacedPod({ namespace: 'apps' }));
  await forbidden('deleting a Service', () => core.deleteNamespacedService({ name: 'shop', namespace: 'apps' }));
  await forbidden('updating a Node', () => core.patchNode({ name: 'any', body: { metadata: { labels: { a: 'b' } } } }));
  await forbidden('a Lease outside its namespace', () =>
    kc.makeApiClient(CoordinationV1Api).createNamespacedLease({
      namespace: 'apps',
      body: { metadata: { name: 'grab' }, spec: { holderIdentity: 'x' } },
    }),
  );
});
