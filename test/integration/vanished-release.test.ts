// A Service that vanishes after the provider gave it an address but before the controller recorded it as served
// still gives its address back. The chaos suite's etcd-down scenario found the path: the apiserver applied a
// user's delete that raced our finalizer write, and the Service vanished mid-reconcile. Here it is made
// deterministic against a real apiserver: the controller runs as a ServiceAccount that may not write Service
// status, so every reconcile allocates and then fails at the status write; then it loses the right to write
// Services at all and the Service is removed without its teardown (finalizer taken off by hand, then deleted).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type V1ClusterRole,
} from '@kubernetes/client-node';
import type { Controller } from '../../src/core/controller/controller.ts';
import { LOAD_BALANCER_CLEANUP_FINALIZER } from '../../src/lib/service/annotations.ts';
import { eventually, useControlPlane } from '../env/harness.ts';
import { serviceAccountToken, tokenKubeconfig } from './serviceaccounts.ts';
import {
  createNamespace,
  createPool,
  createService,
  installAddressPoolCrd,
  lbService,
  metricValue,
  readService,
  startController,
} from './support.ts';

const NS = 'vanish';
const SA = 'no-status-writer';
let controller: Controller | undefined;

const cluster = useControlPlane({
  setup: async (c) => {
    await installAddressPoolCrd(c.kubeConfig);
    await createPool(c.kubeConfig, 'main', ['192.0.2.0/28']);
    await createNamespace(c.core, NS);
    // deploy/base/rbac.yaml without services/status.
    const rbac = c.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createClusterRole({ body: role(['get', 'list', 'watch', 'patch']) });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: SA },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: SA },
        subjects: [{ kind: 'ServiceAccount', name: SA, namespace: NS }],
      },
    });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(await tokenKubeconfig(c.kubeConfig, await serviceAccountToken(c.core, NS, SA), SA));
    controller = await startController(kubeConfig, { backoffMaxSeconds: 1 });
  },
  teardown: async () => controller?.stop(),
});

/** deploy/base/rbac.yaml without services/status, with these verbs on services. */
function role(serviceVerbs: string[]): V1ClusterRole {
  return {
    metadata: { name: SA },
    rules: [
      { apiGroups: [''], resources: ['services'], verbs: serviceVerbs },
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      { apiGroups: ['drawbridge.io'], resources: ['addresspools'], verbs: ['list', 'watch'] },
    ],
  };
}

const poolUsed = () => metricValue(controller as Controller, 'drawbridge_metal_pool_addresses_used');

test('a Service that vanishes between its address allocation and its status write gives the address back', async () => {
  await createService(cluster.core, NS, lbService('web'));
  // Allocated (the pool gauge counts it), never served (the status write is forbidden).
  await eventually('an address allocated for web', async () => ((await poolUsed()) === 1 ? true : undefined));
  assert.deepEqual((await readService(cluster.core, NS, 'web'))?.status?.loadBalancer?.ingress ?? [], []);

  // From now on the controller may not write Services at all, so it cannot put its finalizer back; off with the
  // finalizer, and delete exactly that version (a 409 means the controller's write got in first: again).
  const rbac = cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  await rbac.replaceClusterRole({ name: SA, body: role(['get', 'list', 'watch']) });
  await eventually('web to vanish without a teardown', async () => {
    const svc = await readService(cluster.core, NS, 'web');
    if (!svc) return true;
    const kept = (svc.metadata?.finalizers ?? []).filter((f) => f !== LOAD_BALANCER_CLEANUP_FINALIZER);
    const bare = await cluster.core.patchNamespacedService(
      {
        name: 'web',
        namespace: NS,
        body: { metadata: { finalizers: kept, resourceVersion: svc.metadata?.resourceVersion } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await cluster.core.deleteNamespacedService({
      name: 'web',
      namespace: NS,
      body: { preconditions: { resourceVersion: bare.metadata?.resourceVersion } },
    });
    return undefined;
  });
  await eventually('the address to be released', async () => ((await poolUsed()) === 0 ? true : undefined));
});
