// Proves the local control plane is a real one: the apiserver allocates ClusterIPs and NodePorts, the status
// subresource works, and client-node informers see adds, updates and deletes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  makeInformer,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type V1Service,
} from '@kubernetes/client-node';
import { eventually, useControlPlane } from '../env/harness.ts';

const cluster = useControlPlane();

test('a LoadBalancer Service round-trips through a real apiserver and an informer', async () => {
  const { core } = cluster;
  await core.createNamespace({ body: { metadata: { name: 'smoke' } } });
  const node = await core.createNode({
    body: { metadata: { name: 'node-a' }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.10' }] } },
  });
  assert.equal(node.metadata?.name, 'node-a');

  const informer = makeInformer<V1Service>(cluster.kubeConfig, '/api/v1/namespaces/smoke/services', () =>
    core.listNamespacedService({ namespace: 'smoke' }),
  );
  const seen: string[] = [];
  informer.on('add', (s) => seen.push(`add:${s.metadata?.name}`));
  informer.on('update', (s) =>
    seen.push(`update:${s.metadata?.name}:${s.status?.loadBalancer?.ingress?.[0]?.ip ?? ''}`),
  );
  informer.on('delete', (s) => seen.push(`delete:${s.metadata?.name}`));
  await informer.start();
  try {
    const created = await core.createNamespacedService({
      namespace: 'smoke',
      body: {
        metadata: { name: 'web' },
        spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    });
    // The apiserver, not us, allocated these.
    assert.match(created.spec?.clusterIP ?? '', /^10\.96\.\d+\.\d+$/);
    const nodePort = created.spec?.ports?.[0]?.nodePort ?? 0;
    assert.ok(nodePort >= 30000 && nodePort <= 32767, `nodePort ${nodePort} in the default range`);
    await eventually('the add event', () => (seen.includes('add:web') ? true : undefined));

    await core.patchNamespacedServiceStatus(
      { name: 'web', namespace: 'smoke', body: { status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually('the status update event', () => (seen.includes('update:web:203.0.113.7') ? true : undefined));
    assert.equal(informer.get('web', 'smoke')?.status?.loadBalancer?.ingress?.[0]?.ip, '203.0.113.7');

    await core.deleteNamespacedService({ name: 'web', namespace: 'smoke' });
    await eventually('the delete event', () => (seen.includes('delete:web') ? true : undefined));
    assert.equal(informer.get('web', 'smoke'), undefined);
  } finally {
    await informer.stop();
  }
});

test('RBAC and ServiceAccounts work like a normal cluster', async () => {
  const { core } = cluster;
  await core.createNamespace({ body: { metadata: { name: 'rbac' } } });
  await core.createNamespacedServiceAccount({ namespace: 'rbac', body: { metadata: { name: 'robot' } } });
  const token = await core.createNamespacedServiceAccountToken({
    name: 'robot',
    namespace: 'rbac',
    body: { spec: { audiences: ['https://kubernetes.default.svc.cluster.local'] } },
  });
  assert.ok((token.status?.token ?? '').split('.').length === 3, 'a signed JWT came back');

  const rbac = cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace: 'rbac',
    body: {
      metadata: { name: 'read-services' },
      rules: [{ apiGroups: [''], resources: ['services'], verbs: ['list'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: 'rbac',
    body: {
      metadata: { name: 'robot-reads' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-services' },
      subjects: [{ kind: 'ServiceAccount', name: 'robot', namespace: 'rbac' }],
    },
  });
  // Act as the ServiceAccount with its own token: allowed to list services here, forbidden for nodes.
  const { KubeConfig, CoreV1Api } = await import('@kubernetes/client-node');
  const asRobot = new KubeConfig();
  const admin = cluster.kubeConfig.getCurrentCluster();
  assert.ok(admin);
  asRobot.loadFromOptions({
    clusters: [admin],
    users: [{ name: 'robot', token: token.status?.token }],
    contexts: [{ name: 'robot', cluster: admin.name, user: 'robot' }],
    currentContext: 'robot',
  });
  const robot = asRobot.makeApiClient(CoreV1Api);
  const services = await eventually('RBAC to allow the robot', () =>
    robot.listNamespacedService({ namespace: 'rbac' }).catch(() => undefined),
  );
  assert.deepEqual(services.items, []);
  await assert.rejects(robot.listNode(), (err: { code?: number }) => err.code === 403);
});
