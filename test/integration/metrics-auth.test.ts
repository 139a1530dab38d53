// /metrics the way current controllers serve it, checked against a real apiserver's authentication and RBAC:
// a ServiceAccount bound to a ClusterRole granting `get` on the non-resource URL /metrics scrapes (200), another
// ServiceAccount is refused (403), no or a forged token is unauthenticated (401); the probes need no token.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { createMetrics } from '../../src/core/metrics/controller-metrics.ts';
import { delegatedAccess } from '../../src/lib/observe/access.ts';
import { generateSelfSigned } from '../../src/lib/observe/selfsigned.ts';
import { type ObservabilityServer, startObservabilityServer } from '../../src/lib/observe/server.ts';
import { useControlPlane } from '../env/harness.ts';
import { httpsGet, serviceAccountToken } from './serviceaccounts.ts';

let server: ObservabilityServer | undefined;
const cluster = useControlPlane({ teardown: async () => server?.close() });

test('TokenReview + SubjectAccessReview decide who scrapes /metrics', async () => {
  const rbac = cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  await cluster.core.createNamespace({ body: { metadata: { name: 'monitoring' } } });
  await rbac.createClusterRole({
    body: {
      metadata: { name: 'metrics-reader' },
      rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }],
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: 'prometheus-metrics-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'metrics-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }],
    },
  });
  const prometheus = await serviceAccountToken(cluster.core, 'monitoring', 'prometheus');
  const other = await serviceAccountToken(cluster.core, 'monitoring', 'other');

  const metrics = createMetrics();
  metrics.queueDepth.set(3);
  server = await startObservabilityServer({
    port: 0,
    host: '127.0.0.1',
    metrics,
    isReady: () => true,
    isHealthy: () => true,
    tls: generateSelfSigned('drawbridge-metrics', ['127.0.0.1']),
    authorize: delegatedAccess(cluster.kubeConfig),
  });
  const url = `https://127.0.0.1:${server.port}`;

  const allowed = await httpsGet(`${url}/metrics`, prometheus);
  assert.equal(allowed.status, 200);
  assert.match(allowed.body, /^drawbridge_queue_depth 3$/m);

  const refused = await httpsGet(`${url}/metrics`, other);
  assert.equal(refused.status, 403);
  assert.match(refused.body, /system:serviceaccount:monitoring:other may not get \/metrics/);

  assert.equal((await httpsGet(`${url}/metrics`)).status, 401, 'no token');
  assert.equal((await httpsGet(`${url}/metrics`, 'not-a-token')).status, 401, 'a token the apiserver rejects');

  for (const path of ['/healthz', '/readyz']) {
    assert.deepEqual(await httpsGet(url + path), { status: 200, body: 'ok' }, `${path} needs no token`);
  }
});
